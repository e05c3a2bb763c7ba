import assert from "node:assert/strict";
import { test } from "node:test";
import type { SidebandRecord } from "../../source/kernel/perf-records.js";
import { ANON_PATH, parseProcMaps } from "../../source/process/image.js";
import { ProcessTable } from "../../source/process/process-table.js";
import type { ProcReader } from "../../source/process/procfs.js";
import { parseStatusIds } from "../../source/process/proc-status.js";

test("/proc maps: anonymous executable memory is kept as //anon, data is not", () => {
	const image = parseProcMaps(
		[
			"55d0c000-55d0d000 r-xp 00001000 08:01 1234   /usr/bin/node",
			"7f0cc0003000-7f0cc003f000 rwxp 00000000 00:00 0 ",
			"7f0cc1000000-7f0cc2000000 rw-p 00000000 00:00 0 ",
			"7ffff7fc1000-7ffff7fc3000 r-xp 00000000 00:00 0                          [vdso]",
		].join("\n"),
	);
	assert.deepEqual(
		image.mappings.map((m) => m.path),
		["/usr/bin/node", ANON_PATH, "[vdso]"],
	);
	assert.equal(image.find(0x7f0cc0004000n)?.path, ANON_PATH);
});

test("side-band: an anonymous exec mmap right after exec is a mapping, never the executable", () => {
	const none: ProcReader = { listPids: () => [], read: () => undefined, exists: () => false };
	const table = new ProcessTable({ proc: none });
	const records: SidebandRecord[] = [
		{ kind: "comm", timeNs: 1n, pid: 50, tid: 50, comm: "node", exec: true },
		{ kind: "mmap", timeNs: 2n, pid: 50, tid: 50, start: 0x7f00n, length: 0x1000n, pgoff: 0n, filename: "//anon", executable: true },
		{ kind: "mmap", timeNs: 3n, pid: 50, tid: 50, start: 0x400000n, length: 0x1000n, pgoff: 0n, filename: "/usr/bin/node", executable: true },
	];
	for (const r of records) table.applySideband(r);
	table.applyEvent({ type: "exec", pid: 50, tid: 50, ppid: 1, startNs: 1n, execId: 1n, ktimeNs: 4n, comm: "node", filename: "/usr/bin/node" });
	const { image } = table.resolve(50, 1n, 1n);
	assert.equal(image.exe, "/usr/bin/node");
	assert.equal(image.find(0x7f10n)?.path, "//anon");
});

test("status: uids and the pid in the innermost namespace", () => {
	const text = "Name:\tnode\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nNSpid:\t4242\t7\n";
	assert.deepEqual(parseStatusIds(text, 4242), { uids: [1000, 1000, 1000, 1000], nsPid: 7 });
	assert.deepEqual(parseStatusIds("Uid:\t0\t0\t0\t0\n", 9), { uids: [0, 0, 0, 0], nsPid: 9 });
	assert.equal(parseStatusIds("Name:\tx\n", 9), undefined);
});
