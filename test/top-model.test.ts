import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { encodeProfile } from "../source/output/pprof.js";
import { intervalsToData } from "./helpers/top-data.js";
import type { LiveBatch } from "../source/profile/live.js";
import {
	fit,
	frameMarker,
	functionLine,
	headerLines,
	moduleLabel,
	processLine,
	segmentsText,
} from "../source/profile/top-format.js";
import {
	callGraph,
	cpuPercent,
	DEFAULT_CONFIG,
	emptyTopData,
	type FunctionSort,
	functionCounts,
	functionTable,
	IntervalAccumulator,
	NO_FILTER,
	processRows,
	samplesPerSecond,
	searchFunctions,
	selfCpuPercent,
	snapshot,
	sortFunctions,
	type TopConfig,
	type TopData,
	windowMs,
	zero,
} from "../source/profile/top-model.js";
import {
	defaultRecordingName,
	Recorder,
} from "../source/profile/top-recorder.js";
import {
	batch,
	kernel,
	LIBC,
	STATS,
	sample,
	systemBatch,
	user,
} from "./ui/fake-source.js";

const CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

/** Feeds each list of batches as one 1 s interval, starting at t = 0. */
const run = (intervals: readonly (readonly LiveBatch[])[], config: TopConfig = CONFIG, from?: TopData): TopData =>
	intervalsToData(intervals, config, from);

describe("cpuPercent", () => {
	test("is samples over what one CPU gives in the interval", () => {
		assert.equal(cpuPercent(99, 99, 1000), 100);
		assert.equal(cpuPercent(50, 100, 500), 100);
		assert.equal(cpuPercent(25, 100, 1000), 25);
		// Two busy threads: top's Irix mode, over 100.
		assert.equal(cpuPercent(396, 99, 2000), 200);
	});
	test("is 0, not NaN or Infinity, before an interval exists", () => {
		assert.equal(cpuPercent(10, 99, 0), 0);
		assert.equal(cpuPercent(10, 0, 1000), 0);
	});
	test("selfCpuPercent counts user and system time over wall time", () => {
		assert.equal(
			selfCpuPercent(
				{ user: 1000, system: 0 },
				{ user: 6000, system: 5000 },
				100,
			),
			10,
		);
		assert.equal(
			selfCpuPercent({ user: 0, system: 0 }, { user: 10, system: 0 }, 0),
			0,
		);
	});
});

describe("processes", () => {
	test("CPU % comes from the last interval, samples from the whole window", () => {
		const data = run([
			[systemBatch()],
			[batch([sample(100, [user("main"), user("hot_alpha")], 50)])],
		]);
		const rows = processRows(data);
		assert.deepEqual(
			rows.map((r) => [r.pids, r.comm, r.cpuPercent, r.samples, r.exited]),
			[
				[[100], "ratio", 50, 145, false],
				[[200], "bash", 0, 5, false],
			],
		);
		assert.equal(samplesPerSecond(data), 50);
		assert.equal(windowMs(data), 2000);
	});

	test("the window is bounded: old intervals and idle processes leave", () => {
		const config = { ...CONFIG, windowIntervals: 2 };
		const data = run(
			[
				[systemBatch()],
				[],
				[batch([sample(300, [user("x")], 1, { comm: "late" })])],
			],
			config,
		);
		assert.equal(data.window.length, 2);
		assert.deepEqual(
			processRows(data).map((r) => r.comm),
			["late"],
		);
		assert.equal([...data.processes.keys()].length, 1);
		assert.equal(functionTable(data, NO_FILTER).samples, 1);
	});

	test("an exited process stays as a tombstone for tombstoneRefreshes refreshes, then is swept", () => {
		const config = { ...CONFIG, tombstoneRefreshes: 2 };
		const key = { pid: 100, startNs: 1000n };
		let data = run([[systemBatch(), batch([], [key])]], config);
		const dead = () => processRows(data).find((r) => r.pids[0] === 100);
		assert.equal(dead()?.exited, true);
		data = run([[]], config, data);
		assert.equal(dead()?.exited, true, "still shown one refresh later");
		data = run([[]], config, data);
		assert.equal(dead(), undefined, "swept after 2 refreshes");
		// Its samples still count: functions show what burnt CPU, dead or alive.
		assert.equal(
			functionTable(data, NO_FILTER, "self").rows[0]?.name,
			"hot_alpha",
		);
	});

	test("an exit of a process that was never sampled makes no row", () => {
		const data = run([[batch([], [{ pid: 999, startNs: 1n }])]]);
		assert.deepEqual(processRows(data), []);
	});

	test("a reused pid is another process", () => {
		const data = run([
			[
				batch(
					[sample(100, [user("a")], 3, { startNs: 1n, comm: "old" })],
					[{ pid: 100, startNs: 1n }],
				),
				batch([sample(100, [user("b")], 5, { startNs: 2n, comm: "new" })]),
			],
		]);
		const rows = processRows(data);
		assert.deepEqual(
			rows.map((r) => [r.comm, r.samples, r.exited]),
			[
				["new", 5, false],
				["old", 3, true],
			],
		);
	});

	test("samples of two processes under one pid, interleaved in a batch, stay apart", () => {
		const old = { startNs: 1n, comm: "old" };
		const fresh = { startNs: 2n, comm: "new" };
		const data = run([
			[
				batch([
					sample(100, [user("a")], 1, old),
					sample(100, [user("a")], 2, fresh),
					sample(100, [user("a")], 4, old),
					sample(100, [user("b")], 8, fresh),
				]),
			],
		]);
		assert.deepEqual(
			processRows(data).map((r) => [r.comm, r.samples]),
			[
				["new", 10],
				["old", 5],
			],
		);
		assert.deepEqual(
			data.window[0]?.stacks.map((s) => [s.process, s.value]),
			[
				["100:1", 5],
				["100:2", 2],
				["100:2", 8],
			],
		);
	});

	test("comm follows exec within the same process", () => {
		const data = run([
			[
				batch([sample(100, [user("a")], 1, { comm: "sh" })]),
				batch([sample(100, [user("a")], 1, { comm: "cc1" })]),
			],
		]);
		assert.equal(processRows(data)[0]?.comm, "cc1");
	});

	test("more than groupThreshold exited processes of one exe fold into one row", () => {
		const cc1 = (pid: number) =>
			sample(pid, [user("main", "/usr/lib/gcc/cc1")], 2, {
				comm: "cc1",
				exe: "/usr/lib/gcc/cc1",
				startNs: BigInt(pid),
			});
		const pids = [501, 502, 503, 504, 505];
		const data = run([
			[
				batch(
					pids.map(cc1),
					pids.map((pid) => ({ pid, startNs: BigInt(pid) })),
				),
				batch([sample(100, [user("main")], 1)]),
			],
		]);
		const rows = processRows(data);
		const group = rows.find((r) => r.comm === "cc1");
		assert.ok(group);
		assert.equal(group.count, 5);
		assert.deepEqual(group.pids, pids);
		assert.equal(group.samples, 10);
		assert.equal(group.cpuPercent, 10);
		assert.equal(rows.length, 2);
		assert.match(processLine(group, 80), /^ {6}- cc1 ×5 /);
	});

	test("up to groupThreshold exited processes keep their own rows", () => {
		const pids = [501, 502, 503];
		const data = run([
			[
				batch(
					pids.map((pid) =>
						sample(pid, [user("main")], 1, {
							comm: "cc1",
							startNs: BigInt(pid),
						}),
					),
					pids.map((pid) => ({ pid, startNs: BigInt(pid) })),
				),
			],
		]);
		assert.deepEqual(
			processRows(data).map((r) => [r.count, r.exited]),
			[
				[1, true],
				[1, true],
				[1, true],
			],
		);
	});

	test("living processes of one exe are never folded", () => {
		const pids = [1, 2, 3, 4, 5, 6];
		const data = run([
			[
				batch(
					pids.map((pid) => sample(pid, [user("work")], 1, { comm: "worker" })),
				),
			],
		]);
		assert.equal(processRows(data).length, 6);
	});

	test("the pid filter applies to the process list", () => {
		const data = run([[systemBatch()]]);
		assert.deepEqual(
			processRows(data, [200]).map((r) => r.comm),
			["bash"],
		);
	});
});

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

	test("the window's running totals equal counting every stack, as intervals come and leave", () => {
		const config = { ...CONFIG, windowIntervals: 3 };
		const intervals: LiveBatch[][] = [
			[systemBatch()],
			[batch([sample(1, [user("main"), user("fib"), user("fib")], 4)])],
			[],
			[systemBatch(), batch([sample(100, [kernel("irq")], 2)])],
			[batch([sample(7, [user("only_once")], 1, { startNs: 7n })])],
			[batch([sample(1, [user("main"), user("fib")], 3)])],
			[],
			[],
			[],
		];
		let data = emptyTopData(config);
		for (const interval of intervals) {
			data = run([interval], config, data);
			const pids = [1, 7, 100, 200];
			for (const hideKernel of [false, true]) {
				assert.deepEqual(
					functionTable(data, { pids: [], hideKernel }),
					functionTable(data, { pids, hideKernel }),
					`refresh ${data.refresh}, hideKernel ${hideKernel}`,
				);
			}
			const windowSamples = new Map<string, number>();
			for (const i of data.window)
				for (const [id, v] of i.perProcess)
					windowSamples.set(id, (windowSamples.get(id) ?? 0) + v);
			assert.deepEqual(
				new Map(data.totals.perProcess),
				windowSamples,
				`refresh ${data.refresh}`,
			);
		}
		assert.deepEqual(
			[data.totals.functions.size, data.totals.perProcess.size],
			[0, 0],
			"an empty window leaves nothing behind",
		);
	});

	test("the totals of a refresh stay as they were when later refreshes come (a paused view keeps them)", () => {
		const first = run([[systemBatch()]]);
		const before = functionTable(first, NO_FILTER);
		run([[systemBatch()], [], [systemBatch()]], CONFIG, first);
		assert.deepEqual(functionTable(first, NO_FILTER), before);
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

	test("a pure kernel stack counts for its process but names no user function when kernel is hidden", () => {
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
		assert.deepEqual(table.rows, []);
		assert.equal(table.samples, 7);
		assert.equal(processRows(data)[0]?.samples, 7);
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

describe("zero and snapshots", () => {
	test("zero forgets every count and bumps the generation", () => {
		const data = zero(run([[systemBatch()]]));
		assert.equal(data.generation, 1);
		const view = snapshot(data, NO_FILTER);
		assert.deepEqual(
			[view.processes, view.functions, view.windowSamples],
			[[], [], 0],
		);
	});

	test("the accumulator's reset drops what was not yet taken", () => {
		const acc = new IntervalAccumulator(0);
		acc.add(systemBatch());
		assert.equal(acc.total, 100);
		acc.reset(500);
		const closed = acc.take(1000);
		assert.deepEqual(
			[closed.startMs, closed.total, closed.stacks.length],
			[500, 0, 0],
		);
	});

	test("identical stacks of one process merge within an interval, threads included", () => {
		const acc = new IntervalAccumulator(0);
		acc.add(
			batch([sample(1, [user("a")], 2), sample(1, [user("a")], 3, { tid: 7 })]),
		);
		acc.add(batch([sample(1, [user("a")], 4)]));
		const closed = acc.take(1000);
		assert.deepEqual(
			closed.stacks.map((s) => s.value),
			[9],
		);
	});

	test("a snapshot carries rates, rows and the call graph", () => {
		const data = run([[systemBatch()]]);
		const key = functionTable(data, NO_FILTER).rows.find(
			(r) => r.name === "hot_alpha",
		)?.key;
		const view = snapshot(data, { ...NO_FILTER, search: "alpha" }, key);
		assert.equal(view.sort, "total");
		assert.deepEqual(
			snapshot(data, NO_FILTER, undefined, "self").functions[0]?.name,
			"hot_alpha",
		);
		assert.deepEqual(
			[
				view.refresh,
				view.intervalMs,
				view.samplesPerSecond,
				view.windowSamples,
			],
			[1, 1000, 100, 100],
		);
		assert.deepEqual(
			view.functions.map((r) => r.name),
			["hot_alpha"],
		);
		assert.equal(view.callGraph?.name, "hot_alpha");
	});
});

describe("recording", () => {
	test("default file name is tsprof-YYYYmmdd-HHMMSS.pb.gz in local time", () => {
		assert.equal(
			defaultRecordingName(new Date(2025, 0, 2, 3, 4, 5)),
			"tsprof-20250102-030405.pb.gz",
		);
	});

	test("merges identical samples, keeps distinct threads and addresses, counts its own lost samples", () => {
		const rec = new Recorder("x.pb.gz", 1000, 99, 5);
		const at = (address: bigint) => sample(1, [{ ...user("a"), address }], 1);
		rec.add(batch([at(1n), at(1n), at(2n), { ...at(1n), tid: 2 }]));
		const profile = rec.profile(3500, 8);
		assert.equal(rec.samples, 4);
		assert.deepEqual(
			profile.samples.map((s) => [s.tid, s.frames[0]?.address, s.value]),
			[
				[1, 1n, 2],
				[1, 2n, 1],
				[2, 1n, 1],
			],
		);
		assert.deepEqual(
			[
				profile.durationMs,
				profile.lostSamples,
				profile.frequencyHz,
				profile.unit,
			],
			[2500, 3, 99, "samples"],
		);
		// The recording is what pprof.ts writes: a gzipped profile.
		const file = encodeProfile(profile);
		assert.ok(gunzipSync(file).length > 0);
	});
});

describe("text", () => {
	test("fit cuts with an ellipsis and pads", () => {
		assert.equal(fit("abcdef", 4), "abc…");
		assert.equal(fit("ab", 4), "ab  ");
		assert.equal(fit("ab", 0), "");
	});

	test("function lines mark kernel frames and show short module names", () => {
		const rows = functionTable(run([[systemBatch()]]), NO_FILTER).rows;
		const syscall = rows.find((r) => r.kernel);
		assert.ok(syscall);
		assert.match(
			functionLine(syscall, 80),
			/^ +10\.0 +10\.0 \[k\] do_syscall_64 +\[kernel\] *$/,
		);
		assert.equal(functionLine(syscall, 80).length, 80);
		assert.equal(frameMarker(false), "[.]");
		assert.equal(moduleLabel(LIBC), "libc.so.6");
		assert.equal(moduleLabel(""), "?");
	});

	test("the header names rates, costs, housekeeping, filters, pause and recording", () => {
		const lines = headerLines({
			stats: STATS,
			samplesPerSecond: 396,
			selfCpuPercent: 1.25,
			selfRssBytes: 64 * 1024 * 1024,
			filter: { pids: [1, 2], search: "hot", hideKernel: true },
			windowS: 10,
			paused: true,
			recording: { file: "out.pb.gz", samples: 12 },
		}).map(segmentsText);
		assert.match(
			lines[0] ?? "",
			/99 Hz {2}4 CPUs {2}396 samples\/s {2}lost 3 .*tsprof 1\.3% CPU {2}64\.0 MiB RSS/,
		);
		assert.match(
			lines[1] ?? "",
			/deferred 7 .*batch 40 {2}fallback 5 {2}failed 1/,
		);
		assert.match(
			lines[2] ?? "",
			/filter: pid 1,2 {2}search "hot" {2}kernel hidden .*PAUSED .*REC out\.pb\.gz \(12 samples\)/,
		);
	});
});
