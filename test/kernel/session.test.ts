/**
 * SamplerSession in-process over the real addon: the lifecycle events of a
 * process that execs and exits, the samples attributed to it, and that
 * close() leaves no program or map behind in the kernel.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { after, before, test } from "node:test";
import { type Drain, decodeDrain } from "../../source/kernel/abi.js";
import { loadKernel } from "../../source/kernel/addon.js";
import type { Kernel, KernelSession } from "../../source/kernel/kernel.js";
import { ProcFs } from "../../source/process/procfs.js";
import type { ProcessKey } from "../../source/profile/live.js";
import type { Sample } from "../../source/profile/model.js";
import { defaultStackCopyBytes, SamplerSession } from "../../source/sampler/session.js";
import { Scratch, waitFor } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
let scratch: Scratch;
let brief: string;
const sessions: SamplerSession[] = [];

before(() => {
	if (skip) return;
	scratch = new Scratch("tsprof-session-");
	brief = scratch.compile("brief-burn");
});
after(async () => {
	for (const s of sessions) await s.close();
	await scratch?.cleanup();
});

/** The real kernel, with every drain also decoded into `drains` so the test sees the raw events. */
function teeKernel(drains: Drain[]): Kernel {
	const real = loadKernel();
	return {
		layout: () => real.layout(),
		demangle: (names) => real.demangle(names),
		createSession: (): KernelSession => {
			const s = real.createSession();
			return {
				open: (o) => s.open(o),
				arm: () => s.arm(),
				drain: async (into) => {
					const got = await s.drain(into);
					// A copy: the session hands the buffer back for the next drain.
					drains.push(decodeDrain(got.buffer.slice(0, got.length)));
					return got;
				},
				close: () => s.close(),
				programIds: () => s.programIds(),
				mapIds: () => s.mapIds(),
			};
		},
	};
}

async function startSession(drains: Drain[] = [], pids?: number[]): Promise<SamplerSession> {
	const session = await SamplerSession.start(
		{ kernel: teeKernel(drains), proc: new ProcFs() },
		{ frequencyHz: 99, drainIntervalMs: 100, ...(pids ? { pids } : {}) },
		cpus().length,
	);
	sessions.push(session);
	return session;
}

interface BpftoolObject {
	id: number;
}
const bpftoolIds = (what: "prog" | "map"): Set<number> =>
	new Set(
		(
			JSON.parse(
				execFileSync("bpftool", [what, "show", "-j"], {
					encoding: "utf8",
					maxBuffer: 1 << 26,
				}),
			) as BpftoolObject[]
		).map((o) => o.id),
	);

test("a session sees a process exec and exit, and attributes its samples to it", {
	skip,
}, async () => {
	const drains: Drain[] = [];
	const session = await startSession(drains);
	const samples: Sample[] = [];
	const exited: ProcessKey[] = [];
	const errors: Error[] = [];
	session.subscribe((batch) => {
		samples.push(...batch.samples);
		exited.push(...batch.exited);
	});
	session.onError((e) => errors.push(e));

	// node forks, the child execs the fixture: 200 ms of CPU in brief_burn_xyz.
	const child = scratch.start(brief, ["200"]);
	const end = await child.exited;
	assert.equal(end.code, 0);
	const pid = child.pid;
	const gone = await waitFor(
		`the exit of pid ${pid} in a batch`,
		() => exited.find((k) => k.pid === pid),
		5000,
	);
	assert.deepEqual(errors, []);

	const events = drains.flatMap((d) => d.events).filter((e) => e.pid === pid);
	const fork = events.find((e) => e.type === "fork");
	const exec = events.find((e) => e.type === "exec");
	const exit = events.find((e) => e.type === "exit");
	assert.ok(
		fork && exec && exit,
		`fork, exec and exit events of ${pid}: ${JSON.stringify(events.map((e) => e.type))}`,
	);
	assert.equal(fork.ppid, process.pid, "forked by this test");
	assert.equal(exec.filename, brief);
	assert.equal(exec.comm, "brief-burn");
	assert.ok(
		fork.ktimeNs <= exec.ktimeNs && exec.ktimeNs <= exit.ktimeNs,
		"fork, exec, exit in time order",
	);
	assert.ok(exec.startNs > 0n);
	assert.equal(fork.startNs, exec.startNs, "one process: the same start time");
	assert.equal(exit.startNs, exec.startNs);
	assert.notEqual(exec.execId, fork.execId, "exec changes the exec id");
	assert.equal(
		gone.startNs,
		exec.startNs,
		"the exited ProcessKey carries the process start time",
	);

	const burning = samples.filter(
		(s) => s.pid === pid && s.frames.some((f) => f.name === "brief_burn_xyz"),
	);
	const n = burning.reduce((a, s) => a + s.value, 0);
	assert.ok(
		n >= 8,
		`200 ms of CPU at 99 Hz is ~20 samples in brief_burn_xyz, got ${n}`,
	);
	for (const s of burning) {
		assert.equal(s.comm, "brief-burn");
		assert.equal(s.exe, brief);
		assert.equal(s.startNs, exec.startNs);
		const f = s.frames.find((x) => x.name === "brief_burn_xyz");
		assert.equal(f?.module, brief);
	}
	// Before its exec the child is a copy of node, after it the fixture:
	// a sample's comm and exe always come from the same side of the exec.
	for (const s of samples.filter((x) => x.pid === pid)) {
		assert.equal(
			s.comm === "brief-burn",
			s.exe === brief,
			`comm ${s.comm} with exe ${s.exe}`,
		);
	}
	assert.ok(session.stats().samples >= n);
	// The main thread's copy ends a few words above argc, where exec's
	// strings begin, whatever the depth of the sample: one end for all, and
	// never a cut. Up to the stack mapping's end, it was pages.
	const copies = drains.flatMap((d) => d.samples).filter((r) => r.pid === pid && r.execId === exec.execId && r.regs);
	assert.ok(copies.length >= 8, `samples after the exec: ${copies.length}`);
	// A sample taken inside execve itself may still hold the old program's
	// sp, from another stack: at most one or two of those.
	const endOf = (r: (typeof copies)[number]) => (r.regs?.sp ?? 0n) + BigInt(r.stack.length);
	const ends = new Map<bigint, number>();
	for (const r of copies) ends.set(endOf(r), (ends.get(endOf(r)) ?? 0) + 1);
	const [mainEnd, atEnd] = [...ends].sort((a, b) => b[1] - a[1])[0];
	assert.ok(atEnd >= copies.length - 2, `one end of the copies: ${[...ends].map(([e, n]) => `${e.toString(16)} x${n}`)}`);
	const onMain = copies.filter((r) => endOf(r) === mainEnd);
	for (const r of onMain) assert.equal(r.stackCut, false);
	// ld.so's start-up frames take kilobytes; brief_burn_xyz's stack, where
	// most samples are, takes a few hundred bytes.
	const lengths = onMain.map((r) => r.stack.length).sort((a, b) => a - b);
	const median = lengths[lengths.length >> 1];
	assert.ok(median > 0 && median < 1024, `a shallow stack's copy is small: ${lengths}`);
	assert.ok(burning.every((s) => s.frames.some((f) => f.name === "main")), "every brief_burn_xyz sample reaches main");
	await session.close();
});

test("a stack deeper than the copy budget is copied to the budget, marked cut, and ends as cut", {
	skip,
}, async () => {
	const drains: Drain[] = [];
	const session = await startSession(drains);
	const samples: Sample[] = [];
	session.subscribe((batch) => samples.push(...batch.samples));
	// 32 nested calls of 1 KiB each: twice what a copy may take.
	const child = scratch.start(brief, ["300", "32"]);
	assert.equal((await child.exited).code, 0);
	await session.tick();
	await session.close();
	const budget = defaultStackCopyBytes(99);
	const copies = drains.flatMap((d) => d.samples).filter((r) => r.pid === child.pid && r.regs);
	const full = copies.filter((r) => r.stack.length === budget);
	assert.ok(full.length >= 8, `copies that took the whole budget: ${full.length} of ${copies.length} (${copies.map((r) => r.stack.length)})`);
	// A copy that stopped at the budget, not at the end of the stack, says so:
	// its walk ends for want of copy, not of memory.
	for (const r of full) assert.equal(r.stackCut, true, `a ${r.stack.length}-byte copy at sp ${r.regs?.sp.toString(16)}`);
	const burning = samples.filter((s) => s.pid === child.pid && s.frames.some((f) => f.name === "brief_burn_xyz"));
	assert.ok(burning.length > 0, "samples in brief_burn_xyz");
	for (const s of burning) {
		const outermost = s.frames[s.frames.length - 1];
		assert.match(outermost.name, /stack copy too short/, `outermost frame ${outermost.name}`);
	}
});

test("with pids, the kernel samples only those processes and what they start", {
	skip,
}, async () => {
	const outsider = scratch.start(brief, ["3000"]);
	// The shell burns nothing; its child starts once the probes are armed.
	const parent = scratch.start("/bin/sh", ["-c", `sleep 1; ${brief} 400`]);
	const drains: Drain[] = [];
	const session = await startSession(drains, [parent.pid]);
	await parent.exited;
	await session.tick();
	outsider.child.kill("SIGKILL");
	await session.close();
	const events = drains.flatMap((d) => d.events);
	const family = new Set([parent.pid]);
	for (const e of events) if (e.type === "fork" && family.has(e.ppid)) family.add(e.pid);
	assert.ok(family.size >= 2, `the shell's child was seen starting: ${[...family]}`);
	const samples = drains.flatMap((d) => d.samples);
	const child = samples.filter((r) => r.pid !== parent.pid && family.has(r.pid));
	assert.ok(child.length >= 10, `400 ms of the child's CPU at 99 Hz, got ${child.length} samples`);
	const strangers = samples.filter((r) => !family.has(r.pid));
	assert.deepEqual(
		[...new Set(strangers.map((r) => r.pid))],
		[],
		`no process outside the tree is sampled, the outsider (${outsider.pid}) included`,
	);
});

test("a ring filling faster than the poller's timer wakes it: no sample is lost while JavaScript does not drain", {
	skip,
}, async () => {
	const kernel = loadKernel().createSession();
	// The shell burns nothing; its child, followed from its fork, takes
	// 16 KiB stack copies at 999 Hz: about 16 MB/s into a 256 KiB ring, which
	// fills in ~16 ms, far within the poller's one-second timer.
	const parent = scratch.start("/bin/sh", ["-c", `sleep 0.3; ${brief} 600 32`]);
	await kernel.open({ frequencyHz: 999, sidebandPages: 16, stackCopyBytes: 16384, sampleRingBytes: 256 * 1024, pids: [parent.pid] });
	try {
		kernel.arm();
		// No drain until the burn is over: only the poller reads the ring.
		assert.equal((await parent.exited).code, 0);
		const got = await kernel.drain();
		const drain = decodeDrain(got.buffer, got.length);
		const taken = drain.samples.filter((r) => r.pid !== parent.pid).length;
		const lost = drain.counters.lostSampleRing;
		assert.ok(taken >= 200, `600 ms of CPU at 999 Hz is ~600 samples, got ${taken}`);
		assert.ok(lost <= taken / 4, `${lost} samples lost to a full ring, ${taken} taken`);
	} finally {
		await kernel.close();
	}
});

test("close() leaves none of the session's programs or maps in the kernel", {
	skip,
}, async () => {
	const session = await startSession();
	await session.tick();
	const ids = session.kernelIds();
	assert.ok(
		ids.programs.length >= 4,
		`the cpu-clock program and three tracepoints: ${ids.programs}`,
	);
	assert.ok(ids.maps.length >= 5, `counts, stacks, events, .bss: ${ids.maps}`);
	// They are really there while the session lives (so their absence later means something).
	const progsBefore = bpftoolIds("prog");
	const mapsBefore = bpftoolIds("map");
	for (const id of ids.programs)
		assert.ok(progsBefore.has(id), `program ${id} is loaded`);
	for (const id of ids.maps) assert.ok(mapsBefore.has(id), `map ${id} exists`);

	await session.close();
	await session.close(); // idempotent
	// The kernel frees programs and maps shortly after their last fd closes.
	await waitFor(
		"the session's programs and maps to be freed",
		() => {
			const progs = bpftoolIds("prog");
			const maps = bpftoolIds("map");
			return (
				ids.programs.every((id) => !progs.has(id)) &&
				ids.maps.every((id) => !maps.has(id))
			);
		},
		2000,
		100,
	).catch(() => {
		const progs = bpftoolIds("prog");
		const maps = bpftoolIds("map");
		assert.fail(
			`still in the kernel after close(): programs ${ids.programs.filter((id) => progs.has(id))}, maps ${ids.maps.filter((id) => maps.has(id))}`,
		);
	});
});
