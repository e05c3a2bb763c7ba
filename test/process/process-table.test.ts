import assert from "node:assert/strict";
import { test } from "node:test";
import type { KernelEvent } from "../../source/kernel/abi.js";
import { Image, parseProcMaps } from "../../source/process/image.js";
import { ProcessTable } from "../../source/process/process-table.js";
import type { ProcReader, ProcSnapshot } from "../../source/process/procfs.js";

/** A /proc with a fixed set of live processes. */
function fakeProc(live: Record<number, Omit<ProcSnapshot, "pid">> = {}): ProcReader {
	return {
		listPids: () => Object.keys(live).map(Number),
		read: (pid) => (live[pid] ? { pid, ...live[pid] } : undefined),
		exists: (pid) => pid in live,
	};
}

function ev(type: KernelEvent["type"], pid: number, startNs: bigint, ktimeNs: bigint, extra: Partial<KernelEvent> = {}): KernelEvent {
	return { type, pid, tid: pid, ppid: 1, startNs, execId: 1n, ktimeNs, comm: "c", filename: "", ...extra };
}

const mmap = (pid: number, timeNs: bigint, start: bigint, filename: string) =>
	({ kind: "mmap", timeNs, pid, tid: pid, start, length: 0x1000n, pgoff: 0n, filename, executable: true }) as const;

test("nothing is released before its exit time has been processed, everything after", () => {
	const t = new ProcessTable({ proc: fakeProc() });
	t.applyEvent(ev("fork", 100, 10n, 10n));
	t.applyEvent(ev("exit", 100, 10n, 500n));
	assert.equal(t.stats().deferred, 1);
	// A drain that began before the exit may still hold its samples.
	assert.equal(t.release(400n), 0);
	assert.equal(t.release(500n), 0, "a drain starting exactly at the exit time is not after it");
	assert.equal(t.resolve(100, 10n, 1n).process.comm, "c");
	assert.equal(t.release(501n), 1);
	assert.equal(t.stats().deferred, 0);
	assert.equal(t.stats().released, 1);
});

test("a reused pid is never confused with the process it replaced", () => {
	const t = new ProcessTable({ proc: fakeProc() });
	t.applySideband({ kind: "comm", timeNs: 1n, pid: 7, tid: 7, comm: "old", exec: true });
	t.applySideband(mmap(7, 2n, 0x1000n, "/bin/old"));
	t.applyEvent(ev("exec", 7, 5n, 3n, { comm: "old", filename: "/bin/old", execId: 2n }));
	t.applyEvent(ev("exit", 7, 5n, 10n, { comm: "old" }));
	// Same pid, new process, before the old one is released.
	t.applySideband({ kind: "fork", timeNs: 11n, pid: 7, ppid: 1, tid: 7, ptid: 1 });
	t.applySideband({ kind: "comm", timeNs: 12n, pid: 7, tid: 7, comm: "new", exec: true });
	t.applySideband(mmap(7, 13n, 0x1000n, "/bin/new"));
	t.applyEvent(ev("fork", 7, 11n, 11n, { comm: "sh", execId: 1n }));
	t.applyEvent(ev("exec", 7, 11n, 14n, { comm: "new", filename: "/bin/new", execId: 2n }));

	const oldP = t.resolve(7, 5n, 2n);
	const newP = t.resolve(7, 11n, 2n);
	assert.equal(oldP.process.exe, "/bin/old");
	assert.equal(oldP.image.find(0x1800n)?.path, "/bin/old");
	assert.equal(newP.process.exe, "/bin/new");
	assert.equal(newP.image.find(0x1800n)?.path, "/bin/new");
	t.release(20n);
	assert.equal(t.stats().deferred, 0);
	// The new process keeps its image after the old one is released.
	assert.equal(t.resolve(7, 11n, 2n).image.find(0x1800n)?.path, "/bin/new");
});

test("samples before exec use the parent's image, after exec the new one", () => {
	const t = new ProcessTable({ proc: fakeProc() });
	t.applySideband({ kind: "comm", timeNs: 1n, pid: 1, tid: 1, comm: "storm", exec: true });
	t.applySideband(mmap(1, 2n, 0x1000n, "/bin/storm"));
	t.applyEvent(ev("exec", 1, 0n, 3n, { comm: "storm", filename: "/bin/storm", execId: 5n }));
	t.applySideband({ kind: "fork", timeNs: 10n, pid: 2, ppid: 1, tid: 2, ptid: 1 });
	t.applyEvent(ev("fork", 2, 10n, 10n, { ppid: 1, comm: "storm", execId: 5n }));
	t.applySideband({ kind: "comm", timeNs: 20n, pid: 2, tid: 2, comm: "child", exec: true });
	t.applySideband(mmap(2, 21n, 0x4000n, "/bin/child"));
	t.applyEvent(ev("exec", 2, 10n, 22n, { comm: "child", filename: "/bin/child", execId: 6n }));

	const before = t.resolve(2, 10n, 5n);
	const after = t.resolve(2, 10n, 6n);
	assert.equal(before.image.find(0x1000n)?.path, "/bin/storm");
	assert.equal(before.image.comm, "storm");
	assert.equal(after.image.find(0x1000n), undefined);
	assert.equal(after.image.find(0x4000n)?.path, "/bin/child");
	assert.equal(after.image.comm, "child");
	assert.equal(after.process.exe, "/bin/child");
});

test("processes that existed at start are seeded from /proc and matched to their start time", () => {
	const image = parseProcMaps("55d0c000-55d0d000 r-xp 00001000 08:01 1234   /usr/bin/cat\n55d0d000-55d0e000 r--p 00002000 08:01 1234   /usr/bin/cat\n");
	const t = new ProcessTable({ proc: fakeProc({ 42: { ppid: 1, comm: "cat", exe: "/usr/bin/cat", image } }) });
	assert.equal(t.scan(), 1);
	const r = t.resolve(42, 123n, 9n);
	assert.equal(r.process.comm, "cat");
	assert.equal(r.process.startNs, 123n);
	assert.equal(r.image.find(0x55d0c800n)?.pgoff, 0x1000n);
	assert.equal(r.image.find(0x55d0d800n), undefined, "only executable mappings are kept");
	assert.equal(t.stats().misses, 1);
	t.resolve(42, 123n, 9n);
	assert.equal(t.stats().hits, 1);
});

test("the LRU backstop bounds the table and counts evictions", () => {
	const t = new ProcessTable({ proc: fakeProc(), maxProcesses: 10 });
	for (let pid = 1; pid <= 25; pid++) t.applyEvent(ev("fork", pid, BigInt(pid), BigInt(pid)));
	assert.equal(t.stats().evictions, 15);
	assert.ok(t.stats().live <= 10);
});

test("an image replaces what a new mapping overlaps", () => {
	const i = new Image();
	i.add({ start: 0x1000n, end: 0x5000n, pgoff: 0n, path: "/a" });
	i.add({ start: 0x2000n, end: 0x3000n, pgoff: 0n, path: "/b" });
	assert.deepEqual(
		i.mappings.map((m) => [m.start, m.end, m.pgoff, m.path]),
		[
			[0x1000n, 0x2000n, 0n, "/a"],
			[0x2000n, 0x3000n, 0n, "/b"],
			[0x3000n, 0x5000n, 0x2000n, "/a"],
		],
	);
	const c = i.clone();
	c.add({ start: 0x1000n, end: 0x5000n, pgoff: 0n, path: "/c" });
	assert.equal(i.find(0x2800n)?.path, "/b", "a clone does not change its source");
});
