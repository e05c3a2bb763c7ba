import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	aggregate,
	filterSamples,
	KERNEL_ONLY_FRAME,
	NO_STACK_FRAME,
} from "../../source/profile/aggregate.js";
import {
	type Frame,
	KERNEL_MODULE,
	type Sample,
} from "../../source/profile/model.js";
import { kernelFrame, userFrame } from "../helpers/frames.js";

const EXE = "/usr/bin/app";
const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";

const u = (name: string, module = EXE): Frame => userFrame(name, module);
const k = kernelFrame;

/** frames: outermost first, as one reads a stack; stored innermost first. */
function sample(
	outerToInner: Frame[],
	value = 1,
	over: Partial<Omit<Sample, "frames" | "value">> = {},
): Sample {
	return {
		pid: 100,
		tid: 100,
		startNs: 1000n,
		comm: "app",
		exe: EXE,
		frames: [...outerToInner].reverse(),
		value,
		...over,
	};
}

const row = (agg: ReturnType<typeof aggregate>, name: string) =>
	agg.functions.find((f) => f.name === name);

describe("aggregate", () => {
	test("self counts the innermost frame, total every frame once per sample", () => {
		const agg = aggregate([
			sample([u("main"), u("work"), u("hot")], 3),
			sample([u("main"), u("work")], 2),
			sample([u("main"), u("other")], 1),
		]);
		assert.equal(agg.total, 6);
		assert.deepEqual(
			agg.functions.map((f) => [f.name, f.self, f.total]),
			[
				["hot", 3, 3],
				["work", 2, 5],
				["other", 1, 1],
				["main", 0, 6],
			],
		);
	});

	test("recursion counts once in total", () => {
		const agg = aggregate([
			sample([u("main"), u("fib"), u("fib"), u("fib")], 4),
			sample([u("fib"), u("main"), u("fib")], 1),
		]);
		assert.deepEqual(row(agg, "fib"), {
			name: "fib",
			module: EXE,
			kernel: false,
			self: 5,
			total: 5,
		});
		assert.equal(row(agg, "main")?.total, 5);
		assert.ok(agg.functions.every((f) => f.total <= agg.total));
	});

	test("self sums to the total", () => {
		const agg = aggregate([
			sample([u("a"), u("b")], 2),
			sample([u("a"), k("sys_read")], 3),
			sample([], 4),
		]);
		assert.equal(
			agg.functions.reduce((s, f) => s + f.self, 0),
			agg.total,
		);
		assert.equal(row(agg, NO_STACK_FRAME.name)?.self, 4);
	});

	test("functions are keyed by name and module", () => {
		const agg = aggregate([
			sample([u("main"), u("memcpy", LIBC)], 2),
			sample([u("main"), u("memcpy", EXE)], 1),
		]);
		const memcpy = agg.functions.filter((f) => f.name === "memcpy");
		assert.deepEqual(
			memcpy.map((f) => [f.module, f.self]),
			[
				[LIBC, 2],
				[EXE, 1],
			],
		);
	});

	test("functions sort by self, then total, then name", () => {
		const agg = aggregate([
			sample([u("b")], 1),
			sample([u("a")], 1),
			sample([u("c"), u("d")], 1),
			sample([u("c"), u("e")], 5),
			sample([u("d"), u("x")], 1),
		]);
		assert.deepEqual(
			agg.functions.map((f) => [f.name, f.self, f.total]),
			[
				["e", 5, 5],
				["d", 1, 2],
				["a", 1, 1],
				["b", 1, 1],
				["x", 1, 1],
				["c", 0, 6],
			],
		);
	});

	test("processes: one row per (pid, start), sorted by samples", () => {
		const agg = aggregate([
			sample([u("x")], 1, { pid: 1, tid: 1, comm: "one", exe: "/bin/one" }),
			sample([u("x")], 5, { pid: 2, tid: 2, comm: "two", exe: "/bin/two" }),
			sample([u("x")], 2, { pid: 2, tid: 3, comm: "worker", exe: "/bin/two" }),
			// pid 1 reused by a later process
			sample([u("x")], 3, {
				pid: 1,
				tid: 1,
				startNs: 9n,
				comm: "again",
				exe: "/bin/again",
			}),
		]);
		assert.deepEqual(
			agg.processes.map((p) => [p.pid, p.startNs, p.comm, p.exe, p.samples]),
			[
				[2, 1000n, "two", "/bin/two", 7],
				[1, 9n, "again", "/bin/again", 3],
				[1, 1000n, "one", "/bin/one", 1],
			],
		);
	});

	test("a process is named after its main thread after exec", () => {
		const agg = aggregate([
			// before exec: the fork parent's image
			sample([u("fork")], 1, { comm: "bash", exe: "/bin/bash" }),
			sample([u("x")], 4, { comm: "ratio", exe: "/w/ratio" }),
			// a busy thread with its own name does not rename the process
			sample([u("y")], 9, { tid: 101, comm: "helper", exe: "/w/ratio" }),
		]);
		assert.equal(agg.processes.length, 1);
		assert.deepEqual(
			[
				agg.processes[0]?.comm,
				agg.processes[0]?.exe,
				agg.processes[0]?.samples,
			],
			["ratio", "/w/ratio", 14],
		);
	});

	test("pid and comm filters apply before counting", () => {
		const samples = [
			sample([u("main"), u("a")], 3, { pid: 1, comm: "one" }),
			sample([u("main"), u("b")], 5, { pid: 2, comm: "two" }),
			sample([u("main"), u("c")], 7, { pid: 3, comm: "two" }),
		];
		const byPid = aggregate(samples, { pids: [1, 3] });
		assert.equal(byPid.total, 10);
		assert.deepEqual(
			byPid.processes.map((p) => p.pid),
			[3, 1],
		);
		assert.equal(row(byPid, "main")?.total, 10);
		assert.equal(row(byPid, "b"), undefined);

		const byComm = aggregate(samples, { comms: ["two"] });
		assert.equal(byComm.total, 12);
		assert.equal(row(byComm, "a"), undefined);

		const both = aggregate(samples, { pids: [1, 2], comms: ["two"] });
		assert.equal(both.total, 5);

		const none = aggregate(samples, { pids: [42] });
		assert.deepEqual(none, { total: 0, processes: [], functions: [] });

		const all = aggregate(samples, { pids: [], comms: [] });
		assert.equal(all.total, 15);
	});

	test("hideKernel drops kernel frames and keeps totals", () => {
		const samples = [
			// a syscall: its time goes to the user caller
			sample([u("main"), u("read_file"), k("ksys_read"), k("vfs_read")], 3),
			// a kernel thread: no user frame is left
			sample([k("kthread"), k("worker")], 2, {
				pid: 7,
				tid: 7,
				comm: "kworker/0:1",
				exe: "",
			}),
			sample([u("main"), u("compute")], 4),
		];
		const shown = aggregate(samples);
		assert.equal(row(shown, "vfs_read")?.self, 3);
		assert.equal(row(shown, "read_file")?.self, 0);

		const hidden = aggregate(samples, { hideKernel: true });
		assert.equal(hidden.total, shown.total);
		assert.deepEqual(hidden.processes, shown.processes);
		assert.ok(
			hidden.functions.every(
				(f) => !f.kernel || f.name === KERNEL_ONLY_FRAME.name,
			),
		);
		assert.equal(row(hidden, "read_file")?.self, 3);
		assert.equal(row(hidden, "main")?.total, 7);
		assert.deepEqual(row(hidden, "[kernel]"), {
			name: "[kernel]",
			module: KERNEL_MODULE,
			kernel: true,
			self: 2,
			total: 2,
		});
	});

	test("filterSamples matches what aggregate counts", () => {
		const samples = [
			sample([u("main"), k("sys")], 3, { pid: 1 }),
			sample([k("idle")], 2, { pid: 2 }),
			sample([u("main")], 1, { pid: 3 }),
		];
		assert.equal(filterSamples(samples, {}), samples);
		const filter = { pids: [1, 2], hideKernel: true };
		const kept = filterSamples(samples, filter);
		assert.deepEqual(
			kept.map((s) => s.frames.map((f) => f.name)),
			[["main"], ["[kernel]"]],
		);
		assert.deepEqual(aggregate(kept), aggregate(samples, filter));
		// the input is not modified
		assert.equal(samples[0]?.frames.length, 2);
	});

	test("is linear: 200k frames aggregate quickly", () => {
		const frames = Array.from({ length: 20 }, (_, i) => u(`f${i}`));
		const samples = Array.from({ length: 10_000 }, (_, i) =>
			sample(frames.slice(0, 5 + (i % 15)), 1, { pid: i % 50 }),
		);
		const t0 = performance.now();
		const agg = aggregate(samples);
		const ms = performance.now() - t0;
		assert.equal(agg.total, 10_000);
		assert.equal(agg.processes.length, 50);
		assert.ok(ms < 500, `took ${ms} ms`);
	});
});
