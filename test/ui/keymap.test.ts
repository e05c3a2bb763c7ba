import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { callGraph } from "../../source/profile/top/call-graph.js";
import { NO_FILTER } from "../../source/profile/top/filter.js";
import { functionTable } from "../../source/profile/top/function-table.js";
import { processRows } from "../../source/profile/top/process-rows.js";
import {
	clampCursor,
	graphEntries,
	initialUiState,
	type KeyContext,
	type KeyPress,
	type KeyResult,
	moveCursor,
	parsePids,
	reduceInput,
	reduceKey,
	splitKeys,
	type UiState,
} from "../../source/ui/keymap.js";
import { systemBatch } from "./fake-source.js";
import { dataOf } from "./helpers.js";

const data = dataOf([[systemBatch()]]);
const functions = functionTable(data, NO_FILTER).rows;
const context: KeyContext = {
	processes: processRows(data),
	functions,
	pageRows: { processes: 2, functions: 4, graph: 2 },
	pidExists: (pid) => pid === 100 || pid === 200,
};

/** Presses keys in turn: a string is typed input, an object a special key. */
function press(state: UiState, ...keys: (string | KeyPress)[]) {
	let result: KeyResult = { state };
	const effects: string[] = [];
	for (const key of keys) {
		const ctx =
			result.state.callGraphKey === undefined
				? context
				: {
						...context,
						graph: callGraph(
							data,
							result.state.filter,
							result.state.callGraphKey,
						),
					};
		result =
			typeof key === "string"
				? reduceKey(result.state, key, {}, ctx)
				: reduceKey(result.state, "", key, ctx);
		if (result.effect) effects.push(result.effect);
	}
	return { state: result.state, effects };
}

const start = initialUiState();

describe("keymap", () => {
	test("q, Ctrl-C quit; z zeroes; r toggles recording: effects for the command", () => {
		assert.deepEqual(press(start, "q").effects, ["quit"]);
		assert.deepEqual(press(start, "z", "r").effects, [
			"zero",
			"toggleRecording",
		]);
		assert.deepEqual(
			reduceKey(start, "c", { ctrl: true }, context).effect,
			"quit",
		);
		// In a prompt q is text, Ctrl-C still quits.
		assert.deepEqual(press(start, "/", "q").effects, []);
		assert.deepEqual(
			reduceKey(press(start, "p").state, "c", { ctrl: true }, context).effect,
			"quit",
		);
	});

	test("in help the moving keys scroll, within its last page; any other key returns where ? was pressed", () => {
		const ctx: KeyContext = { ...context, help: { lines: 30, rows: 10 } };
		const keys = (state: UiState, ...pressed: KeyPress[]) => pressed.reduce((s, key) => reduceKey(s, "", key, ctx).state, state);
		const help = press(start, "?").state;
		assert.equal(help.helpOffset, 0);
		assert.equal(keys(help, { downArrow: true }, { downArrow: true }).helpOffset, 2);
		assert.equal(keys(help, { pageDown: true }).helpOffset, 10);
		assert.equal(keys(help, { pageDown: true }, { pageDown: true }, { pageDown: true }).helpOffset, 20, "the last page at most");
		assert.equal(keys(help, { end: true }).helpOffset, 20);
		assert.equal(keys(help, { end: true }, { home: true }).helpOffset, 0);
		assert.equal(keys(help, { upArrow: true }).helpOffset, 0);
		assert.equal(keys(help, { pageDown: true }).mode, "help", "scrolling keeps the help open");
		assert.equal(reduceKey(keys(help, { pageDown: true }), "x", {}, ctx).state.mode, "normal");
		const reopened = reduceKey(reduceKey(keys(help, { pageDown: true }), "x", {}, ctx).state, "?", {}, ctx).state;
		assert.equal(reopened.helpOffset, 0, "? opens the help at its top");
		assert.equal(reduceKey(help, "", { downArrow: true }, context).state.helpOffset, 0, "no length known: nothing to scroll");
	});

	test("the mode is explicit and every mode has a way back", () => {
		assert.equal(press(start, "p").state.mode, "pidPrompt");
		assert.equal(press(start, "p", { escape: true }).state.mode, "normal");
		assert.equal(press(start, "/").state.mode, "search");
		assert.equal(press(start, "/", { return: true }).state.mode, "normal");
		assert.equal(press(start, "?").state.mode, "help");
		assert.equal(press(start, "?", "x").state.mode, "normal");
		assert.equal(
			press(start, { tab: true }, { return: true }).state.mode,
			"callGraph",
		);
		assert.equal(
			press(start, { tab: true }, { return: true }, "?", "x").state.mode,
			"callGraph",
		);
		assert.equal(
			press(start, { tab: true }, { return: true }, { escape: true }).state
				.mode,
			"normal",
		);
	});

	test("pid prompt: commas or spaces, prefilled with the current filter, nonexistent pids reported", () => {
		let { state } = press(start, "p", "100, 200", { return: true });
		assert.deepEqual(state.filter.pids, [100, 200]);
		assert.equal(press(state, "p").state.input, "100,200");
		({ state } = press(start, "p", "4", "2", { return: true }));
		assert.equal(state.mode, "pidPrompt");
		assert.equal(state.message, "no process with pid 42");
		assert.deepEqual(state.filter.pids, []);
		({ state } = press(state, " 200", { return: true }));
		assert.deepEqual(state.filter.pids, [200]);
		assert.equal(state.message, "no process with pid 42 (ignored)");
		assert.equal(
			press(state, "x").state.message,
			undefined,
			"a message lasts one key",
		);
		({ state } = press(start, "p", "1", { delete: true }, { return: true }));
		assert.deepEqual([state.mode, state.filter.pids], ["normal", []]);
	});

	test("parsePids", () => {
		assert.deepEqual(parsePids(" 1,2 3,,2 "), { pids: [1, 2, 3] });
		assert.deepEqual(parsePids(""), { pids: [] });
		assert.deepEqual(parsePids("1,-2"), { error: 'not a pid: "-2"' });
		assert.deepEqual(parsePids("0"), { error: 'not a pid: "0"' });
		assert.deepEqual(parsePids("99999999999999999999"), {
			error: 'not a pid: "99999999999999999999"',
		});
	});

	test("search edits live, moves focus to functions, Esc in search or normal clears it", () => {
		let { state } = press(start, "/", "h", "o", "t", "t", { backspace: true });
		assert.deepEqual([state.filter.search, state.focus], ["hot", "functions"]);
		assert.equal(press(state, { escape: true }).state.filter.search, "");
		({ state } = press(state, { return: true }));
		assert.equal(state.filter.search, "hot");
		({ state } = press(state, "p", "100", { return: true }, { escape: true }));
		assert.deepEqual([state.filter.search, state.filter.pids], ["", []]);
	});

	test("s toggles the function sort between total (the default) and self, back to the top row", () => {
		assert.equal(start.sort, "total");
		const moved = press(start, { tab: true }, { downArrow: true }).state;
		assert.equal(moved.functionCursor.index, 1);
		const bySelf = press(moved, "s").state;
		assert.deepEqual(
			[bySelf.sort, bySelf.functionCursor.index, bySelf.mode],
			["self", 0, "normal"],
		);
		assert.equal(press(bySelf, "s").state.sort, "total");
		// Typed, not a key, where text is typed.
		const searching = press(start, "/", "s").state;
		assert.deepEqual([searching.sort, searching.filter.search], ["total", "s"]);
		assert.equal(press(start, "p", "s").state.sort, "total");
	});

	test("a chunk of keys in one input is split: typed text, then Enter", () => {
		const typed = reduceInput(press(start, "p").state, "200\r", {}, context);
		assert.deepEqual(
			[typed.state.mode, typed.state.filter.pids],
			["normal", [200]],
		);
		const quit = reduceInput(start, "/ab\u001Bq", {}, context);
		assert.deepEqual([quit.state.filter.search, quit.effects], ["", ["quit"]]);
		assert.deepEqual(splitKeys("x\t\u007F", {}), [
			["x", {}],
			["", { tab: true }],
			["", { backspace: true }],
		]);
		// An arrow is one key even though Ink leaves its input empty.
		assert.deepEqual(splitKeys("", { upArrow: true }), [
			["", { upArrow: true }],
		]);
	});

	test("a paste arrives as one string; control characters are not typed", () => {
		assert.equal(
			press(start, "/", "malloc\u0007").state.filter.search,
			"malloc",
		);
	});

	test("Tab switches focus; arrows and pages move only the focused list, clamped", () => {
		let { state } = press(start, { downArrow: true });
		assert.deepEqual(
			[state.processCursor.index, state.functionCursor.index],
			[1, 0],
		);
		({ state } = press(state, { downArrow: true }));
		assert.equal(state.processCursor.index, 1, "only two processes");
		({ state } = press(
			state,
			{ tab: true },
			{ pageDown: true },
			{ downArrow: true },
		));
		assert.deepEqual(state.functionCursor, { index: 5, offset: 2 });
		({ state } = press(state, { end: true }));
		assert.deepEqual(state.functionCursor, {
			index: functions.length - 1,
			offset: functions.length - 4,
		});
		({ state } = press(state, { pageUp: true }, { home: true }));
		assert.deepEqual(state.functionCursor, { index: 0, offset: 0 });
	});

	test("Enter on a process filters to its pids; on a function opens its call graph", () => {
		assert.deepEqual(
			press(start, { downArrow: true }, { return: true }).state.filter.pids,
			[200],
		);
		const { state } = press(
			start,
			{ tab: true },
			{ downArrow: true },
			{ return: true },
		);
		assert.deepEqual(
			[state.mode, state.callGraphKey],
			["callGraph", functions[1]?.key],
		);
	});

	test("in the call graph the cursor walks callers then callees and Enter follows", () => {
		const main = functions.find(
			(f) => f.name === "main" && f.module.endsWith("ratio"),
		);
		assert.ok(main);
		const graph = callGraph(data, NO_FILTER, main.key);
		const entries = graphEntries(graph);
		assert.equal(entries.length, 5);
		const opened: UiState = {
			...start,
			mode: "callGraph",
			callGraphKey: main.key,
		};
		let { state } = press(
			opened,
			{ downArrow: true },
			{ downArrow: true },
			{ end: true },
			{ upArrow: true },
		);
		assert.equal(state.graphCursor, 3);
		({ state } = press(state, { return: true }));
		assert.deepEqual(
			[state.callGraphKey, state.graphCursor],
			[entries[3]?.key, 0],
		);
		// Global keys still work there.
		({ state } = press(state, "k", " "));
		assert.deepEqual(
			[state.filter.hideKernel, state.paused, state.mode],
			[true, true, "callGraph"],
		);
	});

	test("space pauses and resumes; k toggles kernel frames; z resets the cursors", () => {
		const { state } = press(start, " ", "k", { downArrow: true });
		assert.deepEqual([state.paused, state.filter.hideKernel], [true, true]);
		const zeroed = press(state, "z");
		assert.deepEqual(
			[zeroed.state.processCursor.index, zeroed.effects],
			[0, ["zero"]],
		);
		assert.equal(press(state, " ").state.paused, false);
	});

	test("initial pids come from --pid", () => {
		assert.deepEqual(initialUiState([7, 8]).filter.pids, [7, 8]);
	});
});

describe("cursor", () => {
	test("moves keep the selection on screen", () => {
		assert.deepEqual(moveCursor({ index: 0, offset: 0 }, 5, 10, 3), {
			index: 5,
			offset: 3,
		});
		assert.deepEqual(moveCursor({ index: 5, offset: 3 }, -1, 10, 3), {
			index: 4,
			offset: 3,
		});
		assert.deepEqual(moveCursor({ index: 4, offset: 3 }, -2, 10, 3), {
			index: 2,
			offset: 2,
		});
		assert.deepEqual(moveCursor({ index: 2, offset: 2 }, "end", 10, 3), {
			index: 9,
			offset: 7,
		});
		assert.deepEqual(moveCursor({ index: 9, offset: 7 }, 100, 10, 3), {
			index: 9,
			offset: 7,
		});
	});

	test("clamping follows a list that shrank", () => {
		assert.deepEqual(clampCursor({ index: 9, offset: 7 }, 4, 3), {
			index: 3,
			offset: 1,
		});
		assert.deepEqual(clampCursor({ index: 3, offset: 1 }, 0, 3), {
			index: 0,
			offset: 0,
		});
		const same = { index: 1, offset: 0 };
		assert.equal(
			clampCursor(same, 5, 3),
			same,
			"unchanged cursors keep their identity",
		);
	});
});
