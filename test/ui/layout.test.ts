import assert from "node:assert/strict";
import { test } from "node:test";
import {
	computeLayout,
	MIN_COLUMNS,
	MIN_ROWS,
} from "../../source/ui/layout.js";

test("every screen fits in rows - 1 lines, from the minimum up", () => {
	for (let rows = MIN_ROWS; rows <= 120; rows++) {
		const l = computeLayout(80, rows);
		assert.equal(l.tooSmall, false);
		const lists = l.header + 1 + l.processRows + 1 + l.functionRows + l.footer;
		const graph = l.header + 1 + 1 + l.callerRows + 1 + l.calleeRows + l.footer;
		const help = l.header + l.body + l.footer;
		assert.ok(lists <= rows - 1, `lists at ${rows} rows: ${lists}`);
		assert.ok(graph <= rows - 1, `call graph at ${rows} rows: ${graph}`);
		assert.ok(help <= rows - 1, `help at ${rows} rows: ${help}`);
		assert.ok(
			l.processRows >= 1 &&
				l.functionRows >= 2 &&
				l.callerRows >= 1 &&
				l.calleeRows >= 1,
		);
	}
});

test("80x24 gives three header lines and a bigger function list", () => {
	const l = computeLayout(80, 24);
	assert.deepEqual([l.header, l.processRows, l.functionRows], [3, 6, 11]);
});

test("below the minimum the layout says so", () => {
	assert.equal(computeLayout(MIN_COLUMNS - 1, 40).tooSmall, true);
	assert.equal(computeLayout(200, MIN_ROWS - 1).tooSmall, true);
	assert.equal(computeLayout(0, 0).tooSmall, true);
});
