/**
 * A cheaper way for Ink 6.8 to turn a frame's write operations into text.
 *
 * Ink's own `Output.get()` builds a grid of one object per cell, tokenises
 * every line it places into one object per character with its own copy of
 * the active styles, and diffs those styles cell by cell with fresh Sets.
 * At 160×45 that is about 12 MB of garbage and 10 ms of CPU per frame, most
 * of what `tsprof top` costs once a second (see bench/top-model.mjs --ink).
 *
 * This version gives the same string for the lines top draws: printable
 * ASCII, the few narrow marks the tables use, and SGR style codes. A cell
 * holds a character and an interned style, so placing text allocates
 * nothing; the styles a code leads to and the codes between two styles are
 * computed once, by ansi-tokenize (the library Ink uses), and remembered.
 * Any frame with something else in it (clipping, wide or combining
 * characters, other escape sequences) is left to Ink's own method, so the
 * result never differs; test/ui/ink-output.test.ts holds it to that.
 */
import {
	type AnsiCode,
	ansiCodesToString,
	diffAnsiCodes,
	reduceAnsiCodesIncremental,
	tokenize,
} from "@alcalzone/ansi-tokenize";

/** The parts of Ink's `Output` instance that `get()` reads. */
export interface InkOutput {
	readonly width: number;
	readonly height: number;
	readonly operations: readonly InkOperation[];
}

/** One of the operations Ink records while it walks the tree. */
export type InkOperation =
	| {
			readonly type: "write";
			readonly x: number;
			readonly y: number;
			readonly text: string;
			readonly transformers: readonly ((line: string, index: number) => string)[];
	  }
	| { readonly type: "clip"; readonly clip: unknown }
	| { readonly type: "unclip" };

/** What `get()` returns. */
export interface InkFrame {
	readonly output: string;
	readonly height: number;
}

/** A set of active style codes, interned: equal sets are the same object. */
interface Style {
	readonly codes: readonly AnsiCode[];
	/** The style each SGR sequence leads to from this one. */
	readonly after: Map<string, Style>;
	/** The codes that switch from this style to another. */
	readonly into: Map<Style, string>;
}

function newStyle(codes: readonly AnsiCode[]): Style {
	return { codes, after: new Map(), into: new Map() };
}

let plain = newStyle([]);
let interned = new Map<string, Style>([["", plain]]);
/** The UI has a handful of styles; past this many something odd is going on, so start over rather than grow. */
const MAX_STYLES = 1024;

function styleOf(codes: readonly AnsiCode[]): Style {
	const key = codes.map((c) => c.code).join("");
	let style = interned.get(key);
	if (style === undefined) {
		if (interned.size >= MAX_STYLES) {
			plain = newStyle([]);
			interned = new Map([["", plain]]);
		}
		style = newStyle(codes);
		interned.set(key, style);
	}
	return style;
}

function after(style: Style, sequence: string): Style {
	let next = style.after.get(sequence);
	if (next === undefined) {
		const tokens = tokenize(sequence).filter((t): t is AnsiCode => t.type === "ansi");
		next = styleOf(reduceAnsiCodesIncremental([...style.codes], tokens));
		style.after.set(sequence, next);
	}
	return next;
}

function transition(from: Style, to: Style): string {
	if (from === to) return "";
	let codes = from.into.get(to);
	if (codes === undefined) {
		codes = ansiCodesToString(diffAnsiCodes([...from.codes], [...to.codes]));
		from.into.set(to, codes);
	}
	return codes;
}

/** The marks top draws besides printable ASCII: one column each, for Ink as well. */
export const NARROW_MARKS = "…▸▼│×●↑↓";
const NARROW_MARK_CODES = new Set([...NARROW_MARKS].map((c) => c.charCodeAt(0)));
const ESC = 0x1b;
const LEFT_BRACKET = 0x5b;
const LETTER_M = 0x6d;

function isSgrParameter(code: number): boolean {
	return (code >= 0x30 && code <= 0x39) || code === 0x3b;
}

/**
 * Places one line at column `x` of a row; false if it holds anything this
 * fast path does not handle the way Ink's tokeniser would.
 */
function place(line: string, x: number, chars: string[], styles: Style[]): boolean {
	let style = plain;
	let column = x;
	for (let i = 0; i < line.length; ) {
		const code = line.charCodeAt(i);
		if (code === ESC) {
			if (line.charCodeAt(i + 1) !== LEFT_BRACKET) return false;
			let end = i + 2;
			while (isSgrParameter(line.charCodeAt(end))) end++;
			if (line.charCodeAt(end) !== LETTER_M) return false;
			style = after(style, line.slice(i, end + 1));
			i = end + 1;
			continue;
		}
		if ((code < 0x20 || code > 0x7e) && !NARROW_MARK_CODES.has(code)) return false;
		chars[column] = line[i] as string;
		styles[column] = style;
		column++;
		i++;
	}
	return true;
}

/** One row as Ink writes it: styles switched between cells, reset at the end, trailing blanks cut. */
function rowText(chars: readonly (string | undefined)[], styles: readonly Style[]): string {
	// Unstyled blanks at the end would be cut anyway; skip them up front.
	let end = chars.length;
	while (end > 0 && chars[end - 1] === " " && styles[end - 1] === plain) end--;
	let text = "";
	let previous = plain;
	for (let i = 0; i < end; i++) {
		const char = chars[i];
		// Ink drops the holes left by a write past the end of a row.
		if (char === undefined) continue;
		const style = styles[i] as Style;
		text += transition(previous, style) + char;
		previous = style;
	}
	return (text + transition(previous, plain)).trimEnd();
}

/**
 * The frame Ink's `Output.get()` would return for `output`, or undefined
 * when it holds something only Ink's own method handles.
 */
export function fastFrame(output: InkOutput): InkFrame | undefined {
	const { width, height } = output;
	const chars: string[][] = [];
	const styles: Style[][] = [];
	for (let y = 0; y < height; y++) {
		chars.push(new Array<string>(width).fill(" "));
		styles.push(new Array<Style>(width).fill(plain));
	}
	for (const operation of output.operations) {
		if (operation.type !== "write") return undefined;
		if (!operation.text) continue;
		const { x, y, transformers } = operation;
		let offsetY = 0;
		const lines = operation.text.split("\n");
		for (let index = 0; index < lines.length; index++) {
			const row = chars[y + offsetY];
			// Like Ink, a line below the grid is skipped without moving down.
			if (row === undefined) continue;
			let line = lines[index] as string;
			for (const transform of transformers) line = transform(line, index);
			if (!place(line, x, row, styles[y + offsetY] as Style[])) return undefined;
			offsetY++;
		}
	}
	const text = chars.map((row, y) => rowText(row, styles[y] as Style[])).join("\n");
	return { output: text, height: chars.length };
}

/** Ink's `Output` class, as far as this module touches it. */
interface OutputClass {
	prototype: { get(this: InkOutput): InkFrame };
}

/** Marks a `get()` of this module's, so that installing twice wraps once. */
const FAST = Symbol("tsprof fast output");

/**
 * Where the bundled build (scripts/build.mjs) puts the Output class of the
 * Ink it carries, since that copy has no file of its own to import.
 */
const BUNDLED_OUTPUT = Symbol.for("tsprof.inkOutput");

/** Ink's `Output` class: the very module its renderer imports, found next to Ink's entry point. */
export async function inkOutputClass(): Promise<OutputClass> {
	const bundled = (globalThis as Record<symbol, unknown>)[BUNDLED_OUTPUT];
	if (bundled !== undefined) return bundled as OutputClass;
	const url = new URL("./output.js", import.meta.resolve("ink"));
	return (await import(url.href)).default as OutputClass;
}

/**
 * Makes Ink compute frames with {@link fastFrame}, falling back to its own
 * method frame by frame. Does nothing if Ink's Output does not look as
 * expected (another Ink version), since then Ink's own way is the safe one.
 */
export async function installFastOutput(): Promise<void> {
	const Output = await inkOutputClass().catch(() => undefined);
	const proto = Output?.prototype;
	if (!proto || typeof proto.get !== "function" || FAST in proto.get) return;
	const own = proto.get;
	proto.get = Object.assign(
		function get(this: InkOutput) {
			if (!Array.isArray(this.operations)) return own.call(this);
			return fastFrame(this) ?? own.call(this);
		},
		{ [FAST]: true },
	);
}
