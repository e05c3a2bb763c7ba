import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { decodeDrain } from "../../source/kernel/abi.js";
import type { LiveBatch } from "../../source/profile/live.js";
import type { ProcReader } from "../../source/process/procfs.js";
import { SamplerSession } from "../../source/sampler/session.js";
import { Symbolizer } from "../../source/symbols/symbolizer.js";
import { buildDrain, commRecord, fakeKernel, forkRecord, listUnwinder, mmap2Record } from "../helpers/drain-builder.js";
import { KernelSymbols } from "../../source/symbols/kallsyms.js";

const noProc: ProcReader = { listPids: () => [], read: () => undefined, exists: () => false };
let dir: string;
let exe: string;
let sym: Record<string, bigint>;
let text: { offset: bigint; vaddr: bigint; size: bigint };

before(() => {
	dir = mkdtempSync(join(tmpdir(), "tsprof-session-"));
	exe = join(dir, "named");
	execFileSync("gcc", ["-O1", "-g", "-fno-omit-frame-pointer", "-no-pie", "-o", exe, join(import.meta.dirname, "..", "fixtures", "named.c")]);
	sym = {};
	for (const line of execFileSync("nm", [exe], { encoding: "utf8" }).split("\n")) {
		const [addr, , name] = line.split(" ");
		if (name) sym[name] = BigInt(`0x${addr}`);
	}
	const load = execFileSync("readelf", ["-lW", exe], { encoding: "utf8" })
		.split("\n")
		.find((l) => /^\s*LOAD/.test(l) && /R E/.test(l));
	assert.ok(load, "the fixture has an executable segment");
	const f = load.trim().split(/\s+/);
	text = { offset: BigInt(f[1]), vaddr: BigInt(f[2]), size: BigInt(f[5]) };
});
after(() => rmSync(dir, { recursive: true, force: true }));

const kernelSymbols = () => new KernelSymbols(0xffffffff81000000n, [{ name: "do_syscall_64", offset: 0x100, type: "T" }]);

async function run(drains: ArrayBuffer[], pids?: number[]) {
	const kernel = fakeKernel(drains);
	const batches: LiveBatch[] = [];
	const session = await SamplerSession.start(
		{ kernel, proc: noProc, symbolizer: new Symbolizer({ loadKernelSymbols: kernelSymbols }), unwinder: listUnwinder },
		{ frequencyHz: 99, drainIntervalMs: 1e6, pids },
		2,
	);
	assert.equal(kernel.armed, true, "start arms the probes");
	session.subscribe((b) => batches.push(b));
	for (let i = 0; i < drains.length + 1; i++) await session.tick();
	await session.close();
	assert.equal(kernel.closed, true);
	return { batches, session };
}

function imageOf(pid: number, t: bigint): Buffer {
	const start = text.vaddr & ~0xfffn;
	const pgoff = text.offset & ~0xfffn;
	return Buffer.concat([commRecord(pid, t, "named", true), mmap2Record(pid, t + 1n, start, text.size + 0x1000n, pgoff, exe)]);
}

test("a short process is named from side-band mappings after it exited", async () => {
	const pid = 4242;
	const drain = buildDrain({
		drainKtimeNs: 1000n,
		sideband: [Buffer.concat([forkRecord(pid, 1, 10n), imageOf(pid, 20n)])],
		events: [
			{ type: "fork", ktimeNs: 11n, pid, startNs: 10n, execId: 1n, comm: "sh" },
			{ type: "exec", ktimeNs: 30n, pid, startNs: 10n, execId: 2n, comm: "named", filename: exe },
			{ type: "exit", ktimeNs: 900n, pid, startNs: 10n, execId: 2n, comm: "named" },
		],
		samples: [
			{ pid, startNs: 10n, execId: 2n, ustack: [sym.leaf_fn + 2n, sym.middle_fn + 5n, sym.main + 5n], count: 7 },
			{ pid, startNs: 10n, execId: 2n, ustack: [sym.middle_fn + 1n], kstack: [0xffffffff81000104n], count: 3 },
		],
	});
	const { batches, session } = await run([drain]);
	const samples = batches.flatMap((b) => b.samples);
	assert.equal(samples.length, 2);
	const a = samples.find((s) => s.value === 7);
	assert.ok(a);
	assert.deepEqual(
		a.frames.map((f) => f.name),
		["leaf_fn", "middle_fn", "main"],
	);
	assert.equal(a.comm, "named");
	assert.equal(a.exe, exe);
	assert.equal(a.frames[0].module, exe);
	const b = samples.find((s) => s.value === 3);
	assert.deepEqual(
		b?.frames.map((f) => [f.name, f.kernel]),
		[
			["do_syscall_64", true],
			["middle_fn", false],
		],
	);
	assert.deepEqual(batches[0].exited, [{ pid, startNs: 10n }]);
	// The drain began after the exit, so the process is released once processed.
	assert.equal(session.stats().deferredProcesses, 0);
	assert.equal(session.stats().samples, 10);
});

test("a process that exits after the drain began stays until a later drain", async () => {
	const pid = 5000;
	const first = buildDrain({
		drainKtimeNs: 500n,
		sideband: [Buffer.concat([forkRecord(pid, 1, 10n), imageOf(pid, 20n)])],
		events: [
			{ type: "fork", ktimeNs: 11n, pid, startNs: 10n, execId: 1n, comm: "sh" },
			{ type: "exec", ktimeNs: 30n, pid, startNs: 10n, execId: 2n, comm: "named", filename: exe },
			{ type: "exit", ktimeNs: 600n, pid, startNs: 10n, execId: 2n, comm: "named" },
		],
	});
	// Samples taken before the exit, delivered by the next drain.
	const second = buildDrain({ drainKtimeNs: 700n, samples: [{ pid, startNs: 10n, execId: 2n, ustack: [sym.leaf_fn + 1n], count: 1 }] });
	const kernel = fakeKernel([first, second]);
	const session = await SamplerSession.start({ kernel, proc: noProc, unwinder: listUnwinder }, { frequencyHz: 99, drainIntervalMs: 1e6 }, 2);
	const seen: LiveBatch[] = [];
	session.subscribe((b) => seen.push(b));
	await session.tick();
	assert.equal(session.stats().deferredProcesses, 1, "kept: its exit is after the drain's start");
	await session.tick();
	assert.equal(seen[1].samples[0].frames[0].name, "leaf_fn");
	assert.equal(seen[1].samples[0].comm, "named");
	assert.equal(session.stats().deferredProcesses, 0);
	await session.close();
});

test("--pid follows the processes the filtered one forks", async () => {
	const drain = buildDrain({
		drainKtimeNs: 100n,
		events: [
			{ type: "fork", ktimeNs: 10n, pid: 301, ppid: 300, startNs: 10n, execId: 1n, comm: "make" },
			{ type: "fork", ktimeNs: 11n, pid: 302, ppid: 301, startNs: 11n, execId: 1n, comm: "cc" },
			{ type: "fork", ktimeNs: 12n, pid: 400, ppid: 1, startNs: 12n, execId: 1n, comm: "other" },
		],
		samples: [
			{ pid: 300, startNs: 1n, execId: 1n, count: 1 },
			{ pid: 302, startNs: 11n, execId: 1n, count: 1 },
			{ pid: 400, startNs: 12n, execId: 1n, count: 1 },
		],
	});
	const { batches } = await run([drain], [300]);
	assert.deepEqual(batches.flatMap((b) => b.samples.map((s) => s.pid)).sort(), [300, 302]);
});

test("off-CPU blocks become samples worth their nanoseconds, summed per stack, with their wait", async () => {
	const pid = 4300;
	const drain = buildDrain({
		drainKtimeNs: 1000n,
		sideband: [Buffer.concat([forkRecord(pid, 1, 10n), imageOf(pid, 20n)])],
		events: [{ type: "exec", ktimeNs: 30n, pid, startNs: 10n, execId: 2n, comm: "named", filename: exe }],
		offCpu: [
			{ pid, tid: pid + 1, startNs: 10n, execId: 2n, blockedNs: 1000, kstack: [0xffffffff81000104n], ustack: [sym.middle_fn + 5n, sym.main + 5n] },
			{ pid, tid: pid + 1, startNs: 10n, execId: 2n, blockedNs: 500, kstack: [0xffffffff81000104n], ustack: [sym.middle_fn + 5n, sym.main + 5n] },
			{ pid, tid: pid + 2, startNs: 10n, execId: 2n, blockedNs: 7, preempted: true, ustack: [sym.leaf_fn + 1n] },
			{ pid: 999, startNs: 1n, execId: 1n, blockedNs: 3 },
		],
	});
	const kernel = fakeKernel([drain]);
	const session = await SamplerSession.start(
		{ kernel, proc: noProc, symbolizer: new Symbolizer({ loadKernelSymbols: kernelSymbols }), unwinder: listUnwinder },
		{ frequencyHz: 99, drainIntervalMs: 1e6, pids: [pid], offCpu: { minBlockUs: 1 } },
		2,
	);
	const batches: LiveBatch[] = [];
	session.subscribe((b) => batches.push(b));
	await session.tick();
	await session.close();
	const blocks = batches.flatMap((b) => b.offCpu ?? []);
	assert.deepEqual(
		blocks.map((s) => [s.tid, s.value, s.waitReason, s.frames.map((f) => f.name)]),
		[
			[pid + 1, 1500, "other", ["do_syscall_64", "middle_fn", "main"]],
			[pid + 2, 7, "preempted", ["leaf_fn"]],
		],
	);
	assert.equal(session.lossDetails().blockedNs, 1507);
});

test("the decoder reads back what the fake kernel built", () => {
	const d = decodeDrain(
		buildDrain({
			drainKtimeNs: 77n,
			lostKernelStack: 3,
			events: [{ type: "exec", ktimeNs: 5n, pid: 9, startNs: 1n, execId: 4n, comm: "abc", filename: "/x/y" }],
			offCpu: [{ pid: 9, tid: 11, startNs: 1n, execId: 4n, blockedNs: 5000, preempted: true, kstack: [3n], ustack: [4n, 5n] }],
			samples: [{ pid: 9, tid: 10, startNs: 1n, execId: 4n, ustack: [7n, 8n], kstack: [0xffffffff81000104n], ktimeNs: 42n, count: 2 }],
		}),
	);
	assert.equal(d.drainKtimeNs, 77n);
	assert.equal(d.counters.lostKernelStack, 3);
	assert.deepEqual(d.events[0], { type: "exec", ktimeNs: 5n, startNs: 1n, execId: 4n, pid: 9, tid: 9, ppid: 1, comm: "abc", filename: "/x/y" });
	assert.equal(d.offCpu.length, 1);
	const o = d.offCpu[0];
	assert.deepEqual([o.pid, o.tid, o.blockedNs, o.preempted, [...o.kernelIps], [...o.userIps]], [9, 11, 5000, true, [3n], [4n, 5n]]);
	assert.equal(d.samples.length, 2);
	const r = d.samples[1];
	assert.deepEqual([r.ktimeNs, r.pid, r.tid, r.startNs, r.execId], [42n, 9, 10, 1n, 4n]);
	assert.equal(r.regs?.ip, 7n);
	assert.deepEqual([...new BigUint64Array(r.stack.slice().buffer)], [8n, 0n]);
	assert.deepEqual([...r.kernelIps], [0xffffffff81000104n]);
	assert.throws(() => decodeDrain(new ArrayBuffer(8)), /too short/);
});

test("a reused drain buffer is read only up to the drain's length", () => {
	const one = buildDrain({ drainKtimeNs: 1n, samples: [{ pid: 9, tid: 9, startNs: 1n, execId: 1n, ustack: [7n], kstack: [], ktimeNs: 2n }] });
	const two = buildDrain({ drainKtimeNs: 3n, samples: [] });
	// The second drain written over the first, as the addon does with the buffer handed back.
	const reused = one.slice(0);
	new Uint8Array(reused).set(new Uint8Array(two));
	assert.ok(two.byteLength < one.byteLength, "the first drain's tail is left behind");
	const d = decodeDrain(reused, two.byteLength);
	assert.equal(d.drainKtimeNs, 3n);
	assert.equal(d.samples.length, 0);
	assert.throws(() => decodeDrain(reused, 16), /too short/);
});

/** A fake kernel that counts its drains. */
function countingKernel(drains: ArrayBuffer[]) {
	const kernel = fakeKernel(drains);
	const counter = { drains: 0 };
	const createSession = kernel.createSession;
	kernel.createSession = () => {
		const s = createSession();
		return {
			...s,
			drain: (into) => {
				counter.drains++;
				return s.drain(into);
			},
		};
	};
	return { kernel, counter };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("flush drains at once, delivers before it resolves, and starts the drain interval over", async () => {
	const { kernel, counter } = countingKernel([]);
	const session = await SamplerSession.start({ kernel, proc: noProc }, { frequencyHz: 99, drainIntervalMs: 400 }, 2);
	after(() => session.close());
	const seen: LiveBatch[] = [];
	session.subscribe((b) => seen.push(b));
	await sleep(250);
	assert.equal(counter.drains, 1, "the early first drain only");
	await session.flush();
	assert.equal(counter.drains, 2);
	assert.equal(seen.length, 2, "the flushed batch was delivered before flush resolved");
	await sleep(300);
	assert.equal(counter.drains, 2, "no drain at 400 ms: the flush at 250 ms started the interval over");
	await sleep(300);
	assert.equal(counter.drains, 3, "the interval's drain, 400 ms after the flush");
	await session.close();
});

test("a storm of lifecycle events brings the next drain forward, whatever the interval", async () => {
	const events = Array.from({ length: 300 }, (_, i) => ({ type: "exit" as const, ktimeNs: BigInt(i + 1), pid: 5000 + i, startNs: 1n, execId: 1n, comm: "cc1" }));
	const { kernel, counter } = countingKernel([buildDrain({ drainKtimeNs: 1000n, events })]);
	const session = await SamplerSession.start({ kernel, proc: noProc }, { frequencyHz: 99, drainIntervalMs: 1e6 }, 2);
	try {
		await sleep(150);
		assert.equal(counter.drains, 1, "the early first drain took the storm");
		await sleep(400);
		assert.equal(counter.drains, 2, "drained again 250 ms after the storm's drain");
		await sleep(400);
		assert.equal(counter.drains, 2, "a quiet drain does not bring the next one forward");
	} finally {
		await session.close();
	}
});

test("freed C heap is handed back after drains that read files, at most every 10 s", async () => {
	const kernel = Object.assign(fakeKernel([]), { released: 0 });
	kernel.releaseFreeMemory = () => {
		kernel.released++;
	};
	const tables = { misses: 0, errors: 0 };
	const unwinder = {
		unwind: () => ({ pcs: [] }),
		stats: () => ({ tables }),
	};
	const session = await SamplerSession.start({ kernel, proc: noProc, unwinder }, { frequencyHz: 99, drainIntervalMs: 1e6 }, 2);
	try {
		await session.tick();
		assert.equal(kernel.released, 0, "no file read: a trim would only unmap pages the next drain faults in");
		tables.misses++;
		await session.tick();
		assert.equal(kernel.released, 1, "a table was compiled");
		tables.misses++;
		await session.tick();
		assert.equal(kernel.released, 1, "not again within 10 s");
	} finally {
		await session.close();
	}
});
