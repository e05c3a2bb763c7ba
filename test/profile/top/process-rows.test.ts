import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { intervalsToData } from "../../helpers/top-data.js";
import type { LiveBatch } from "../../../source/profile/live.js";
import { processLine } from "../../../source/ui/top-format.js";
import { NO_FILTER } from "../../../source/profile/top/filter.js";
import { functionTable } from "../../../source/profile/top/function-table.js";
import { processRows } from "../../../source/profile/top/process-rows.js";
import { cpuPercent } from "../../../source/profile/top/rates.js";
import { withWaitFrames } from "../../../source/profile/top/wait-frames.js";
import { DEFAULT_CONFIG, samplesPerSecond, type TopConfig, type TopData, windowMs } from "../../../source/profile/top/window.js";
import { batch, kernel, sample, systemBatch, user } from "../../ui/fake-source.js";

const CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

/** Feeds each list of batches as one 1 s interval, starting at t = 0. */
const run = (intervals: readonly (readonly LiveBatch[])[], config: TopConfig = CONFIG, from?: TopData): TopData =>
	intervalsToData(intervals, config, from);

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

describe("UNK%: the share of a process's frames that could not be named", () => {
	const unknownOf = (data: TopData) => processRows(data).map((r) => [r.comm, r.unknownPercent]);
	const blob = (addr: string) => user(`[unknown] ${addr} (no symbols)`, "/opt/bench/libblob.so");

	test("unknown frames over all frames of the process's samples, each weighted by its sample's value", () => {
		// ratio: 60×3 + 20×3 + 10×5 + 3×3 + 2×3 = 305 frames, of which 3 + 2 unknown.
		assert.deepEqual(unknownOf(run([[systemBatch()]])), [
			["ratio", (5 / 305) * 100],
			["bash", 0],
		]);
	});

	test("a sample with no stack is one unknown frame; kernel frames count like any other", () => {
		const data = run([[batch([sample(400, [], 2, { comm: "nostack" }), sample(400, [user("main"), kernel("do_syscall_64")], 1, { comm: "nostack" })])]]);
		// 2×1 unknown + 1×2 named.
		assert.deepEqual(unknownOf(data), [["nostack", 50]]);
	});

	test("intervals that leave the window take their frames along; a tombstone with none left has no figure", () => {
		const config = { ...CONFIG, windowIntervals: 2, tombstoneRefreshes: 3 };
		const key = { pid: 500, startNs: 1n };
		let data = run(
			[[batch([sample(100, [blob("0x1")], 4), sample(500, [blob("0x2")], 1, { comm: "brief", startNs: 1n })], [key])], [batch([sample(100, [user("main")], 4)])]],
			config,
		);
		assert.deepEqual(unknownOf(data), [
			["ratio", 50],
			["brief", 100],
		]);
		data = run([[batch([sample(100, [user("main")], 4)])]], config, data);
		const brief = processRows(data).find((r) => r.comm === "brief");
		assert.deepEqual([brief?.exited, brief?.samples, brief?.unknownPercent], [true, 0, undefined]);
		assert.equal(processRows(data).find((r) => r.comm === "ratio")?.unknownPercent, 0);
		assert.equal(data.totals.framesPerProcess.size, 1, "nothing is kept of a process with no frames left");
	});

	test("a folded row sums the frames of its processes", () => {
		const cc1 = (pid: number, frames: ReturnType<typeof user>[]) => sample(pid, frames, 2, { comm: "cc1", exe: "/usr/lib/gcc/cc1", startNs: BigInt(pid) });
		const pids = [501, 502, 503, 504];
		const data = run([
			[
				batch(
					pids.map((pid) => cc1(pid, pid === 501 ? [user("main"), blob("0x3")] : [user("main"), user("parse")])),
					pids.map((pid) => ({ pid, startNs: BigInt(pid) })),
				),
			],
		]);
		const group = processRows(data).find((r) => r.count === 4);
		// 4 processes × 2 samples × 2 frames, 2 of them unknown.
		assert.equal(group?.unknownPercent, (2 / 16) * 100);
	});

	test("off-CPU, frames are weighted by blocked time and the wait reason is not a frame", () => {
		const data = run([
			[
				batch(
					withWaitFrames([
						sample(300, [user("main"), user("reader_wait"), kernel("anon_pipe_read")], 1.5e9, { comm: "reader", waitReason: "pipe" }),
						sample(300, [user("main"), user("locker_wait"), blob("0x4"), kernel("futex_wait")], 0.5e9, { comm: "reader", waitReason: "lock" }),
					]),
				),
			],
		]);
		// 1.5e9×3 + 0.5e9×4 = 6.5e9 frame-nanoseconds, 0.5e9 of them unknown.
		assert.deepEqual(unknownOf(data), [["reader", (0.5 / 6.5) * 100]]);
	});
});
