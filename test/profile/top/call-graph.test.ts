import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { intervalsToData } from "../../helpers/top-data.js";
import type { LiveBatch } from "../../../source/profile/live.js";
import { callGraph } from "../../../source/profile/top/call-graph.js";
import { NO_FILTER } from "../../../source/profile/top/filter.js";
import { type FunctionSort, functionCounts, functionTable, searchFunctions, sortFunctions } from "../../../source/profile/top/function-table.js";
import { processRows } from "../../../source/profile/top/process-rows.js";
import { DEFAULT_CONFIG, emptyTopData, type TopConfig, type TopData } from "../../../source/profile/top/window.js";
import { batch, kernel, sample, systemBatch, user } from "../../ui/fake-source.js";

const CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

/** Feeds each list of batches as one 1 s interval, starting at t = 0. */
const run = (intervals: readonly (readonly LiveBatch[])[], config: TopConfig = CONFIG, from?: TopData): TopData =>
	intervalsToData(intervals, config, from);

describe("call graph", () => {
	test("the call graph lists callers and callees with their samples", () => {
		const data = run([[systemBatch()]]);
		const mainKey = functionTable(data, NO_FILTER).rows.find(
			(r) => r.name === "main" && r.module !== "/usr/bin/bash",
		)?.key;
		assert.ok(mainKey);
		const graph = callGraph(data, { pids: [], hideKernel: false }, mainKey);
		assert.ok(graph);
		assert.deepEqual([graph.self, graph.total], [0, 95]);
		assert.deepEqual(
			graph.callers.map((e) => [e.name, e.samples]),
			[["__libc_start_main", 95]],
		);
		assert.deepEqual(
			graph.callees.map((e) => [e.name, e.samples, Math.round(e.percent)]),
			[
				["hot_alpha", 60, 63],
				["hot_beta", 20, 21],
				["write", 10, 11],
				["[unknown] (no symbols)", 5, 5],
			],
		);
		const write = graph.callees.find((e) => e.name === "write");
		assert.ok(write);
		const writeGraph = callGraph(
			data,
			{ pids: [], hideKernel: false },
			write.key,
		);
		assert.deepEqual(
			writeGraph?.callees.map((e) => [e.name, e.kernel]),
			[["entry_SYSCALL_64", true]],
		);
		assert.deepEqual(
			callGraph(data, { pids: [], hideKernel: true }, write.key)?.callees,
			[],
		);
		assert.equal(
			callGraph(data, { pids: [200], hideKernel: false }, write.key),
			undefined,
		);
	});

	test("a recursive edge counts once per sample", () => {
		const data = run([
			[
				batch([
					sample(1, [user("main"), user("fib"), user("fib"), user("fib")], 4),
				]),
			],
		]);
		const key =
			functionTable(data, NO_FILTER).rows.find((r) => r.name === "fib")?.key ??
			"";
		const graph = callGraph(data, NO_FILTER, key);
		assert.deepEqual(
			graph?.callers.map((e) => [e.name, e.samples]),
			[
				["fib", 4],
				["main", 4],
			],
		);
		assert.deepEqual(
			graph?.callees.map((e) => [e.name, e.samples]),
			[["fib", 4]],
		);
	});
});
