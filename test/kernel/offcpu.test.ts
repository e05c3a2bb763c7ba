/**
 * Off-CPU time through the real kernel: a fixture whose threads block in
 * known ways. Blocks are paired per thread (ARCHITECTURE.md, Principles: 4),
 * so each thread's blocked time is its own, never more than the wall time,
 * and close to what the fixture arranged.
 */
import assert from "node:assert/strict";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { after, before, test } from "node:test";
import { loadKernel } from "../../source/kernel/addon.js";
import type { Sample } from "../../source/profile/model.js";
import { ProcFs } from "../../source/process/procfs.js";
import { SamplerSession } from "../../source/sampler/session.js";
import { Scratch, sleep, waitForLines } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
let scratch: Scratch;
let fixture: string;

before(() => {
	if (skip) return;
	scratch = new Scratch("tsprof-offcpu-");
	fixture = scratch.compile("offcpu-threads");
});
after(async () => {
	await scratch?.cleanup();
});

test("each thread's blocked time is its own, within 20% of what it arranged, and named by its wait", { skip }, async (t) => {
	const child = scratch.start(fixture, ["12"]);
	await waitForLines(child, 6);
	const tids = new Map<string, number>();
	for (const line of child.lines.slice(0, 5)) {
		const [role, tid] = line.split(" ");
		tids.set(role, Number(tid));
	}
	const session = await SamplerSession.start(
		{ kernel: loadKernel(), proc: new ProcFs() },
		{ frequencyHz: 99, drainIntervalMs: 250, pids: [child.pid], cpuSamples: false, offCpu: { minBlockUs: 1 } },
		cpus().length,
	);
	const blocks: Sample[] = [];
	session.subscribe((b) => blocks.push(...(b.offCpu ?? [])));
	await sleep(4000);
	await session.close();
	const wallNs = (performance.now() - session.armedAtMs) * 1e6;
	child.child.kill();

	const byTid = new Map<number, number>();
	const reasons = new Map<number, Map<string, number>>();
	for (const s of blocks) {
		assert.equal(s.pid, child.pid, "only the followed process");
		byTid.set(s.tid, (byTid.get(s.tid) ?? 0) + s.value);
		const r = reasons.get(s.tid) ?? new Map<string, number>();
		r.set(s.waitReason ?? "", (r.get(s.waitReason ?? "") ?? 0) + s.value);
		reasons.set(s.tid, r);
	}
	const share = (role: string) => (byTid.get(tids.get(role) ?? -1) ?? 0) / wallNs;
	// Waiting for a CPU ("preempted") grows with the machine's load; what the
	// thread waited for besides is what the fixture arranged.
	const topReason = (role: string) =>
		[...(reasons.get(tids.get(role) ?? -1) ?? new Map()).entries()].filter(([r]) => r !== "preempted").sort((a, b) => b[1] - a[1])[0]?.[0];
	t.diagnostic(
		`blocked share of ${(wallNs / 1e9).toFixed(2)} s: ${[...tids.keys()].map((r) => `${r} ${share(r).toFixed(3)} (${topReason(r)})`).join(", ")}`,
	);
	for (const [tid, ns] of byTid) assert.ok(ns <= wallNs * 1.02, `thread ${tid} blocked ${ns} ns, more than the wall time ${wallNs}`);
	assert.ok(Math.abs(share("sleeper") - 1) <= 0.2, `sleeper blocked ${share("sleeper")} of the time, arranged ~1`);
	assert.ok(Math.abs(share("reader") - 1) <= 0.2, `reader blocked ${share("reader")} of the time, arranged ~1`);
	assert.ok(Math.abs(share("locker") - 0.75) <= 0.2 * 0.75, `locker blocked ${share("locker")} of the time, arranged ~0.75`);
	assert.equal(topReason("sleeper"), "sleep");
	assert.equal(topReason("reader"), "pipe");
	assert.equal(topReason("locker"), "lock");
	// The blocked function is the thread's own, never a sibling's.
	const entry = { sleeper: "sleeper_main", reader: "reader_main", locker: "locker_main" } as const;
	for (const [role, main] of Object.entries(entry)) {
		const tid = tids.get(role);
		const mine = blocks.filter((s) => s.tid === tid);
		const named = mine.filter((s) => s.frames.some((f) => f.name === main)).reduce((n, s) => n + s.value, 0);
		const total = mine.reduce((n, s) => n + s.value, 0);
		assert.ok(named >= 0.95 * total, `${role}: ${main} in ${named} of ${total} ns`);
		for (const other of Object.values(entry)) {
			if (other !== main) assert.ok(!mine.some((s) => s.frames.some((f) => f.name === other)), `${role} never shows ${other}`);
		}
	}
});
