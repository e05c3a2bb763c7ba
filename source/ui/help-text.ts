/**
 * The text of top's help screen (`?`): every key, then why a frame can stay
 * unnamed and what to do about it, wrapped to the screen's width. A help
 * line cut at 80 columns would lose exactly the advice it is there for, so
 * lines wrap, and the screen scrolls when they outgrow it.
 */
import { UNKNOWN_HELP } from "../symbols/unknown.js";

/** Every key, as the README lists them. */
export const HELP_LINES: readonly (readonly [string, string])[] = [
	["q, Ctrl-C", "quit (the terminal is restored, a recording is written)"],
	["p", "filter by pid: one or more, separated by commas or spaces"],
	["Enter", "on a process: filter to it; on a function: its callers and callees"],
	["/", "search functions by name (substring, any case)"],
	["s", "sort functions by total (perf top -g's Children) or by self"],
	["Esc", "clear the pid filter and the search; close a panel"],
	["Tab", "move focus between processes and functions"],
	["↑ ↓ PgUp PgDn", "move in the focused list"],
	["Home End", "first / last row"],
	["k", "hide or show kernel frames"],
	["space", "pause the display (sampling goes on)"],
	["z", "zero the counts"],
	["r", "start or stop recording to a file"],
	["o", "switch between on-CPU samples and off-CPU (blocked) time; needs --off-cpu"],
	["?", "this help"],
];

/** One line of the help screen. */
export interface HelpLine {
	readonly text: string;
	/** A title: the screen's first line and each section's. */
	readonly heading?: boolean;
}

const KEY_W = 16;

/**
 * `first` followed by the words of `text`, in lines of at most `width`
 * columns; lines after the first start with `indent`. A word longer than a
 * line is left whole, for the screen to cut.
 */
export function wrap(first: string, text: string, width: number, indent: string): string[] {
	const lines: string[] = [];
	let start = first;
	let line = first;
	for (const word of text.split(" ")) {
		if (word === "") continue;
		if (line.length > start.length && line.length + 1 + word.length > width) {
			lines.push(line);
			start = indent;
			line = indent + word;
		} else {
			line = line.length > start.length ? `${line} ${word}` : line + word;
		}
	}
	lines.push(line);
	return lines;
}

/** The whole help, wrapped to `width`. */
export function helpText(width: number): readonly HelpLine[] {
	const keyIndent = " ".repeat(2 + KEY_W);
	const plain = (text: string): HelpLine => ({ text });
	return [
		...wrap("", "tsprof top: which functions use the CPU right now, and in which processes.", width, "").map((text) => ({ text, heading: true })),
		plain(""),
		...HELP_LINES.flatMap(([keys, what]) => wrap(`  ${keys.padEnd(KEY_W)}`, what, width, keyIndent).map(plain)),
		plain(""),
		{ text: "Unknown frames", heading: true },
		...wrap("  ", "UNK% in the process list is the share of its frames that could not be named. Such a frame reads [unknown] (REASON); the reasons:", width, "  ").map(plain),
		...UNKNOWN_HELP.flatMap(([, line]) => wrap("  ", line, width, "      ").map(plain)),
	];
}

/** The first help line shown: the last page at most, so the screen is never half empty. */
export function clampHelpOffset(offset: number, lines: number, rows: number): number {
	return Math.max(0, Math.min(offset, lines - Math.max(1, rows)));
}
