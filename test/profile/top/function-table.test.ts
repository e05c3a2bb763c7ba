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

describe("functions", () => {
	test("self counts the innermost frame, total every stack once; % of filtered samples", () => {
		const data = run([[systemBatch()]]);
		const table = functionTable(data, NO_FILTER);
		assert.equal(table.samples, 100);
		const byName = new Map(
			table.rows
				.filter((r) => r.module !== "/usr/bin/bash")
				.map((r) => [r.name, r]),
		);
		assert.deepEqual(
			functionTable(data, NO_FILTER, "self")
				.rows.slice(0, 3)
				.map((r) => [r.name, r.self, r.total]),
			[
				["hot_alpha", 60, 60],
				["hot_beta", 20, 20],
				["do_syscall_64", 10, 10],
			],
		);
		assert.equal(byName.get("main")?.total, 95);
		assert.equal(
			table.rows.filter((r) => r.name === "main").length,
			2,
			"bash's main is another function",
		);
		assert.equal(byName.get("main")?.self, 0);
		assert.equal(byName.get("do_syscall_64")?.kernel, true);
		assert.equal(byName.get("hot_alpha")?.selfPercent, 60);
	});
	test("sorts by total by default, as perf top -g does; ties go to self, then the name", () => {
		const data = run([[systemBatch()]]);
		const rows = (sort?: FunctionSort) =>
			functionTable(data, NO_FILTER, sort).rows.map((r) => [
				r.name,
				r.self,
				r.total,
			]);
		// Callers that burn nothing themselves come first, with all they call.
		assert.deepEqual(rows().slice(0, 8), [
			["__libc_start_main", 0, 95],
			["main", 0, 95],
			["hot_alpha", 60, 60],
			["hot_beta", 20, 20],
			["do_syscall_64", 10, 10],
			["entry_SYSCALL_64", 0, 10],
			["write", 0, 10],
			["[unknown] (no symbols)", 5, 5],
		]);
		assert.deepEqual(rows("total"), rows());
		assert.deepEqual(rows("self").slice(0, 2), [
			["hot_alpha", 60, 60],
			["hot_beta", 20, 20],
		]);
		// A pid filter counts stacks instead of the window's totals: same order.
		assert.deepEqual(
			functionTable(data, { pids: [100], hideKernel: false })
				.rows.slice(0, 3)
				.map((r) => r.name),
			["__libc_start_main", "main", "hot_alpha"],
		);
		// Same counts and name in two modules: the module decides, not the order they came in.
		const twins = run([
			[
				batch([
					sample(1, [user("f", "/b")], 1),
					sample(2, [user("f", "/a")], 1),
				]),
			],
		]);
		assert.deepEqual(
			functionTable(twins, NO_FILTER).rows.map((r) => r.module),
			["/a", "/b"],
		);
	});
	test("with a limit, the first rows are those of the full sort, and none is lost", () => {
		let seed = 7;
		const random = (n: number) => {
			seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
			return (seed >>> 8) % n;
		};
		for (let round = 0; round < 30; round++) {
			const n = 1 + random(400);
			const samples = Array.from({ length: n }, (_, i) =>
				// Few distinct counts, so ties (broken by name) are common.
				sample(
					1 + random(3),
					[user("main"), user(`f${random(n)}_${i}`)],
					1 + random(4),
				),
			);
			const data = run([[batch(samples)]]);
			const rows = functionCounts(data, NO_FILTER).rows;
			for (const sort of ["total", "self"] as const) {
				const full = functionTable(data, NO_FILTER, sort).rows.map(
					(r) => r.key,
				);
				for (const limit of [0, 1, 2, 5, 17, Math.floor(n / 3), n]) {
					const partial = sortFunctions(rows, sort, limit).map((r) => r.key);
					assert.deepEqual(
						partial.slice(0, limit),
						full.slice(0, limit),
						`n ${n} limit ${limit} ${sort}`,
					);
					assert.deepEqual([...partial].sort(), [...full].sort());
				}
			}
		}
	});
	test("the unfiltered table (from per-interval tallies) equals counting every stack", () => {
		const data = run([
			[
				systemBatch(),
				batch([sample(1, [user("main"), user("fib"), user("fib")], 4)]),
			],
			[systemBatch(), batch([sample(100, [kernel("irq")], 2)])],
		]);
		for (const hideKernel of [false, true]) {
			const fromTallies = functionTable(data, { pids: [], hideKernel });
			const fromStacks = functionTable(data, {
				pids: [1, 100, 200],
				hideKernel,
			});
			assert.deepEqual(fromTallies, fromStacks, `hideKernel ${hideKernel}`);
		}
	});
	test("recursion counts once in total", () => {
		const data = run([
			[
				batch([
					sample(1, [user("main"), user("fib"), user("fib"), user("fib")], 4),
				]),
			],
		]);
		const fib = functionTable(data, NO_FILTER).rows.find(
			(r) => r.name === "fib",
		);
		assert.deepEqual([fib?.self, fib?.total, fib?.totalPercent], [4, 4, 100]);
	});
	test("unnamed frames merge per module and reason, not per address", () => {
		const data = run([[systemBatch()]]);
		const unknown = functionTable(data, NO_FILTER).rows.filter((r) =>
			r.name.startsWith("[unknown]"),
		);
		assert.deepEqual(
			unknown.map((r) => [r.name, r.module, r.self]),
			[["[unknown] (no symbols)", "/opt/bench/libblob.so", 5]],
		);
	});
	test("hiding kernel frames moves self to the innermost user frame, and keeps the denominator", () => {
		const data = run([[systemBatch()]]);
		const table = functionTable(data, { pids: [], hideKernel: true });
		assert.equal(table.samples, 100);
		assert.equal(
			table.rows.some((r) => r.kernel),
			false,
		);
		assert.equal(table.rows.find((r) => r.name === "write")?.self, 10);
		assert.equal(
			table.rows.find((r) => r.name === "hot_alpha")?.selfPercent,
			60,
		);
	});
	test("a pure kernel stack counts for its process but names no user function when kernel is hidden: it counts as [kernel], as in report", () => {
		const data = run([
			[
				batch([
					sample(1, [kernel("worker_thread"), kernel("schedule")], 7, {
						comm: "kworker",
					}),
				]),
			],
		]);
		const table = functionTable(data, { pids: [], hideKernel: true });
		assert.deepEqual(
			table.rows.filter((r) => !r.kernel),
			[],
		);
		assert.deepEqual(
			table.rows.map((r) => [r.name, r.module, r.self, r.total]),
			[["[kernel]", "[kernel]", 7, 7]],
		);
		assert.equal(table.samples, 7);
		assert.equal(processRows(data)[0]?.samples, 7);
		// The pid-filtered path counts stacks one by one, by the same rule.
		const filtered = functionTable(data, { pids: [1], hideKernel: true });
		assert.deepEqual(filtered.rows, table.rows);
	});
	test("the pid filter applies before counting", () => {
		const data = run([[systemBatch()]]);
		const table = functionTable(data, { pids: [200], hideKernel: false });
		assert.equal(table.samples, 5);
		assert.deepEqual(
			table.rows.map((r) => [r.name, r.selfPercent]),
			[
				["readline", 100],
				["main", 0],
			],
		);
	});
	test("search is a case-insensitive substring of the name and keeps percentages", () => {
		const rows = functionTable(run([[systemBatch()]]), NO_FILTER).rows;
		assert.deepEqual(
			searchFunctions(rows, "HOT_").map((r) => [r.name, r.selfPercent]),
			[
				["hot_alpha", 60],
				["hot_beta", 20],
			],
		);
		assert.equal(searchFunctions(rows, "").length, rows.length);
		assert.deepEqual(searchFunctions(rows, "nothing like it"), []);
	});
});
