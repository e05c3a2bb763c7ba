/**
 * Every key of `tsprof top`, as one pure reducer over an explicit mode, so
 * the whole interaction is unit-tested without a terminal. What the reducer
 * cannot do itself (quit, zero the counts, start or stop a recording) comes
 * back as an effect for the command to carry out.
 */
import type { Key } from "ink";
import { type FunctionKey } from "../profile/count.js";
import { type CallGraph } from "../profile/top/call-graph.js";
import { type ViewFilter } from "../profile/top/filter.js";
import { DEFAULT_SORT, type FunctionRow, type FunctionSort } from "../profile/top/function-table.js";
import { type ProcessRow } from "../profile/top/process-rows.js";
import { clampHelpOffset } from "./help-text.js";

/** What keys mean right now. */
export type Mode = "normal" | "pidPrompt" | "search" | "help" | "callGraph";

/** The list the arrows move in. */
export type Focus = "processes" | "functions";

/** Selection and scroll position of a list. */
export interface Cursor {
	readonly index: number;
	/** First visible row. */
	readonly offset: number;
}

/** Everything the view remembers between key presses. */
export interface UiState {
	readonly mode: Mode;
	/** Mode `?` was pressed in, to return to. */
	readonly back: Mode;
	readonly focus: Focus;
	readonly processCursor: Cursor;
	readonly functionCursor: Cursor;
	/** Index into the call graph's callers followed by its callees. */
	readonly graphCursor: number;
	readonly filter: ViewFilter;
	/** Column the function list is sorted by (`s` toggles). */
	readonly sort: FunctionSort;
	readonly paused: boolean;
	/** Text being typed at the pid prompt. */
	readonly input: string;
	/** One-line notice for the footer; cleared by the next key. */
	readonly message?: string;
	/** Function whose callers and callees are shown. */
	readonly callGraphKey?: FunctionKey;
	/** First line of the help screen shown: it scrolls when taller than the screen. */
	readonly helpOffset: number;
}

/** The key fields the reducer reads; Ink's `Key` fits. */
export type KeyPress = Partial<
	Pick<
		Key,
		| "upArrow"
		| "downArrow"
		| "leftArrow"
		| "rightArrow"
		| "pageUp"
		| "pageDown"
		| "home"
		| "end"
		| "return"
		| "escape"
		| "tab"
		| "backspace"
		| "delete"
		| "ctrl"
		| "meta"
	>
>;

/** What the reducer needs to know about the screen the key was pressed on. */
export interface KeyContext {
	/** Process rows as shown. */
	readonly processes: readonly ProcessRow[];
	/** Function rows as shown (after search). */
	readonly functions: readonly FunctionRow[];
	readonly graph?: CallGraph;
	/** Visible rows of each list, for paging and scrolling. */
	readonly pageRows: {
		readonly processes: number;
		readonly functions: number;
		readonly graph: number;
	};
	readonly pidExists: (pid: number) => boolean;
	/** Lines of the help screen and the rows it has, for scrolling it; without them it does not scroll. */
	readonly help?: { readonly lines: number; readonly rows: number };
}

/** Work for the command: the reducer only describes it. */
export type Effect = "quit" | "zero" | "toggleRecording" | "toggleOffCpu";

export interface KeyResult {
	readonly state: UiState;
	readonly effect?: Effect;
}

const TOP: Cursor = { index: 0, offset: 0 };

export function initialUiState(pids: readonly number[] = []): UiState {
	return {
		mode: "normal",
		back: "normal",
		focus: "processes",
		processCursor: TOP,
		functionCursor: TOP,
		graphCursor: 0,
		filter: { pids: [...pids], search: "", hideKernel: false },
		sort: DEFAULT_SORT,
		paused: false,
		input: "",
		helpOffset: 0,
	};
}

/** Keeps `cursor` on an existing row and that row on screen. */
export function clampCursor(
	cursor: Cursor,
	count: number,
	page: number,
): Cursor {
	const rows = Math.max(1, page);
	const index = Math.max(0, Math.min(cursor.index, count - 1));
	let offset = Math.max(0, Math.min(cursor.offset, count - rows));
	if (index < offset) offset = index;
	if (index >= offset + rows) offset = index - rows + 1;
	return index === cursor.index && offset === cursor.offset
		? cursor
		: { index, offset };
}

/** Where `home`, `end` or a relative move takes the cursor. */
export function moveCursor(
	cursor: Cursor,
	move: number | "home" | "end",
	count: number,
	page: number,
): Cursor {
	const target =
		move === "home" ? 0 : move === "end" ? count - 1 : cursor.index + move;
	return clampCursor({ index: target, offset: cursor.offset }, count, page);
}

/** The movement a key asks for, if any. */
function movement(
	key: KeyPress,
	page: number,
): number | "home" | "end" | undefined {
	if (key.upArrow) return -1;
	if (key.downArrow) return 1;
	if (key.pageUp) return -Math.max(1, page);
	if (key.pageDown) return Math.max(1, page);
	if (key.home) return "home";
	if (key.end) return "end";
	return undefined;
}

/** Pids typed at the prompt: separated by commas or spaces. */
export function parsePids(
	text: string,
): { pids: number[] } | { error: string } {
	const pids: number[] = [];
	for (const token of text.split(/[\s,]+/)) {
		if (token === "") continue;
		if (
			!/^\d+$/.test(token) ||
			Number(token) <= 0 ||
			!Number.isSafeInteger(Number(token))
		) {
			return { error: `not a pid: "${token}"` };
		}
		if (!pids.includes(Number(token))) pids.push(Number(token));
	}
	return { pids };
}

/** Callers then callees: the entries the call-graph cursor moves over. */
export function graphEntries(
	graph: CallGraph | undefined,
): readonly { key: FunctionKey }[] {
	return graph ? [...graph.callers, ...graph.callees] : [];
}

function printable(input: string, key: KeyPress): string {
	if (key.ctrl || key.meta) return "";
	// Pastes arrive as one string; keep their printable part.
	return [...input].filter((c) => c >= " " && c !== "\u007f").join("");
}

function withFilter(state: UiState, filter: Partial<ViewFilter>): UiState {
	return { ...state, filter: { ...state.filter, ...filter } };
}

/** Keys shared by the list view and the call-graph panel. */
function globalKey(state: UiState, input: string): KeyResult | undefined {
	switch (input) {
		case "q":
			return { state, effect: "quit" };
		case " ":
			return { state: { ...state, paused: !state.paused } };
		case "k":
			return {
				state: withFilter(state, { hideKernel: !state.filter.hideKernel }),
			};
		case "z":
			return {
				state: {
					...state,
					processCursor: TOP,
					functionCursor: TOP,
					graphCursor: 0,
				},
				effect: "zero",
			};
		case "r":
			return { state, effect: "toggleRecording" };
		case "o":
			return { state: { ...state, processCursor: TOP, functionCursor: TOP, graphCursor: 0 }, effect: "toggleOffCpu" };
		case "?":
			return { state: { ...state, mode: "help", back: state.mode, helpOffset: 0 } };
		default:
			return undefined;
	}
}

/** The moving keys scroll the help; any other key closes it. */
function helpKey(state: UiState, key: KeyPress, ctx: KeyContext): KeyResult {
	const lines = ctx.help?.lines ?? 0;
	const rows = ctx.help?.rows ?? 0;
	const move = movement(key, rows);
	if (move === undefined) return { state: { ...state, mode: state.back } };
	const target = move === "home" ? 0 : move === "end" ? lines : state.helpOffset + move;
	return { state: { ...state, helpOffset: clampHelpOffset(target, lines, rows) } };
}

function pidPromptKey(
	state: UiState,
	input: string,
	key: KeyPress,
	ctx: KeyContext,
): KeyResult {
	if (key.escape) return { state: { ...state, mode: "normal", input: "" } };
	if (key.backspace || key.delete)
		return { state: { ...state, input: state.input.slice(0, -1) } };
	if (!key.return)
		return { state: { ...state, input: state.input + printable(input, key) } };
	const parsed = parsePids(state.input);
	if ("error" in parsed) return { state: { ...state, message: parsed.error } };
	const missing = parsed.pids.filter((pid) => !ctx.pidExists(pid));
	const present = parsed.pids.filter((pid) => ctx.pidExists(pid));
	const noSuch = `no process with pid ${missing.join(", ")}`;
	// Nothing left to filter on: stay so the pid can be corrected.
	if (parsed.pids.length > 0 && present.length === 0)
		return { state: { ...state, message: noSuch } };
	const applied = withFilter(state, { pids: present });
	return {
		state: {
			...applied,
			mode: "normal",
			input: "",
			processCursor: TOP,
			functionCursor: TOP,
			message: missing.length > 0 ? `${noSuch} (ignored)` : undefined,
		},
	};
}

function searchKey(state: UiState, input: string, key: KeyPress): KeyResult {
	if (key.escape)
		return { state: { ...withFilter(state, { search: "" }), mode: "normal" } };
	if (key.return) return { state: { ...state, mode: "normal" } };
	const search =
		key.backspace || key.delete
			? state.filter.search.slice(0, -1)
			: state.filter.search + printable(input, key);
	return { state: { ...withFilter(state, { search }), functionCursor: TOP } };
}

function callGraphKey(
	state: UiState,
	input: string,
	key: KeyPress,
	ctx: KeyContext,
): KeyResult {
	if (key.escape || key.leftArrow || key.backspace || key.delete)
		return { state: { ...state, mode: "normal" } };
	const entries = graphEntries(ctx.graph);
	if (key.return) {
		const entry = entries[state.graphCursor];
		return {
			state: entry
				? { ...state, callGraphKey: entry.key, graphCursor: 0 }
				: state,
		};
	}
	const move = movement(key, ctx.pageRows.graph);
	if (move !== undefined) {
		const cursor = moveCursor(
			{ index: state.graphCursor, offset: 0 },
			move,
			entries.length,
			entries.length,
		);
		return { state: { ...state, graphCursor: cursor.index } };
	}
	return globalKey(state, input) ?? { state };
}

function normalKey(
	state: UiState,
	input: string,
	key: KeyPress,
	ctx: KeyContext,
): KeyResult {
	if (key.escape) {
		return {
			state: {
				...withFilter(state, { pids: [], search: "" }),
				processCursor: TOP,
				functionCursor: TOP,
			},
		};
	}
	if (key.tab)
		return {
			state: {
				...state,
				focus: state.focus === "processes" ? "functions" : "processes",
			},
		};
	const onProcesses = state.focus === "processes";
	const move = movement(
		key,
		onProcesses ? ctx.pageRows.processes : ctx.pageRows.functions,
	);
	if (move !== undefined) {
		return {
			state: onProcesses
				? {
						...state,
						processCursor: moveCursor(
							state.processCursor,
							move,
							ctx.processes.length,
							ctx.pageRows.processes,
						),
					}
				: {
						...state,
						functionCursor: moveCursor(
							state.functionCursor,
							move,
							ctx.functions.length,
							ctx.pageRows.functions,
						),
					},
		};
	}
	if (key.return) {
		if (onProcesses) {
			const row = ctx.processes[state.processCursor.index];
			if (!row) return { state };
			return {
				state: {
					...withFilter(state, { pids: row.pids }),
					processCursor: TOP,
					functionCursor: TOP,
				},
			};
		}
		const row = ctx.functions[state.functionCursor.index];
		if (!row) return { state };
		return {
			state: {
				...state,
				mode: "callGraph",
				callGraphKey: row.key,
				graphCursor: 0,
			},
		};
	}
	if (input === "p")
		return {
			state: {
				...state,
				mode: "pidPrompt",
				input: state.filter.pids.join(","),
			},
		};
	if (input === "/")
		return { state: { ...state, mode: "search", focus: "functions" } };
	if (input === "s")
		return {
			state: {
				...state,
				sort: state.sort === "total" ? "self" : "total",
				functionCursor: TOP,
			},
		};
	return globalKey(state, input) ?? { state };
}

/** The one key handler of `tsprof top`: dispatches on the mode. */
export function reduceKey(
	previous: UiState,
	input: string,
	key: KeyPress,
	ctx: KeyContext,
): KeyResult {
	if (key.ctrl && input === "c") return { state: previous, effect: "quit" };
	const state: UiState =
		previous.message === undefined
			? previous
			: { ...previous, message: undefined };
	switch (state.mode) {
		case "help":
			return helpKey(state, key, ctx);
		case "pidPrompt":
			return pidPromptKey(state, input, key, ctx);
		case "search":
			return searchKey(state, input, key);
		case "callGraph":
			return callGraphKey(state, input, key, ctx);
		case "normal":
			return normalKey(state, input, key, ctx);
	}
}

const SPECIAL_KEYS = [
	"upArrow",
	"downArrow",
	"leftArrow",
	"rightArrow",
	"pageUp",
	"pageDown",
	"home",
	"end",
	"return",
	"escape",
	"tab",
	"backspace",
	"delete",
	"ctrl",
	"meta",
] as const satisfies readonly (keyof KeyPress)[];

/** What the terminal's control characters mean as keys. */
const CONTROL_KEYS: Readonly<Record<string, readonly [string, KeyPress]>> = {
	"\r": ["", { return: true }],
	"\n": ["", { return: true }],
	"\t": ["", { tab: true }],
	"\u007F": ["", { backspace: true }],
	"\b": ["", { backspace: true }],
	"\u001B": ["", { escape: true }],
	"\u0003": ["c", { ctrl: true }],
};

/**
 * The keys in one input event. Ink hands over a chunk of plain characters as
 * one input (a paste, or `tmux send-keys 1234 Enter`), so "1234\r" must be
 * typed and then entered, not typed with the Enter dropped.
 */
export function splitKeys(input: string, key: KeyPress): [string, KeyPress][] {
	const special = SPECIAL_KEYS.some((name) => key[name]);
	const chars = [...input];
	if (special || chars.length <= 1) return [[input, key]];
	return chars.map((c) => {
		const control = CONTROL_KEYS[c];
		return control ? [control[0], control[1]] : [c, {}];
	});
}

/** reduceKey over every key of one input event; effects in the order asked. */
export function reduceInput(
	state: UiState,
	input: string,
	key: KeyPress,
	ctx: KeyContext,
): { state: UiState; effects: Effect[] } {
	const effects: Effect[] = [];
	let current = state;
	for (const [one, oneKey] of splitKeys(input, key)) {
		const result = reduceKey(current, one, oneKey, ctx);
		current = result.state;
		if (result.effect) effects.push(result.effect);
	}
	return { state: current, effects };
}
