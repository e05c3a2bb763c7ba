import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { loadPerfMap, PerfMapFile } from "../../source/symbols/perf-map.js";

const asRoot = process.getuid?.() === 0 ? false : "needs root to chown";

describe("PerfMapFile", () => {
	let dir = "";
	before(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsprof-pmf-"));
	});
	after(() => fs.rmSync(dir, { recursive: true, force: true }));

	test("reads only what was appended, and a half-written line waits for its end", () => {
		const file = path.join(dir, "perf-10.map");
		fs.writeFileSync(file, "1000 10 first\n2000 10 sec");
		const map = new PerfMapFile(file);
		map.refresh();
		assert.equal(map.reason, undefined);
		assert.equal(map.lookup(0x1004)?.name, "first");
		assert.equal(map.lookup(0x2004), undefined, "the unfinished line is not read");
		fs.appendFileSync(file, "ond\n3000 10 third\n");
		map.refresh();
		assert.equal(map.lookup(0x2004)?.name, "second");
		assert.equal(map.lookup(0x3004)?.name, "third");
		assert.equal(map.reads, 2);
		assert.equal(map.entries, 3);
		map.refresh();
		assert.equal(map.reads, 2, "nothing new, nothing parsed");
	});

	test("a later line wins at a reused address, across reads", () => {
		const file = path.join(dir, "perf-11.map");
		fs.writeFileSync(file, "1000 100 old\n");
		const map = new PerfMapFile(file);
		map.refresh();
		fs.appendFileSync(file, "1000 20 new\n");
		map.refresh();
		assert.equal(map.lookup(0x1010)?.name, "new");
		const whole = loadPerfMap(file);
		assert.ok(whole.symbols);
		for (const at of [0x1010, 0x101f, 0x1020, 0x1050]) assert.deepEqual(map.lookup(at), whole.symbols.lookup(at), `at ${at.toString(16)}`);
	});

	test("many small appends are merged into few tables, and name as one read would", () => {
		const file = path.join(dir, "perf-12.map");
		fs.writeFileSync(file, "");
		const map = new PerfMapFile(file);
		for (let i = 0; i < 300; i++) {
			fs.appendFileSync(file, `${(0x10000 + i * 0x100).toString(16)} 80 f${i}\n`);
			map.refresh();
		}
		const whole = loadPerfMap(file);
		assert.ok(whole.symbols);
		for (let i = 0; i < 300; i++) assert.equal(map.lookup(0x10000 + i * 0x100 + 4)?.name, `f${i}`);
		assert.equal(map.entries, whole.symbols.size);
		assert.ok((map as unknown as { chunks: unknown[] }).chunks.length <= 9);
	});

	test("a truncated or replaced file is read again from the start", () => {
		const file = path.join(dir, "perf-13.map");
		fs.writeFileSync(file, "1000 10 before\n2000 10 gone\n");
		const map = new PerfMapFile(file);
		map.refresh();
		fs.writeFileSync(file, "1000 10 after\n");
		fs.utimesSync(file, 1, 1);
		map.refresh();
		assert.equal(map.lookup(0x1001)?.name, "after");
		assert.equal(map.lookup(0x2001), undefined);
		fs.rmSync(file);
		fs.writeFileSync(`${file}.new`, "5000 10 replaced_by_a_longer_file_with_another_inode\n6000 10 x\n");
		fs.renameSync(`${file}.new`, file);
		map.refresh();
		assert.equal(map.lookup(0x1001), undefined);
		assert.equal(map.lookup(0x5001)?.name, "replaced_by_a_longer_file_with_another_inode");
		assert.equal(map.restarts, 2);
	});

	test("a map deleted after it was read keeps naming (the process may have exited)", () => {
		const file = path.join(dir, "perf-14.map");
		fs.writeFileSync(file, "1000 10 kept\n");
		const map = new PerfMapFile(file);
		map.refresh();
		fs.rmSync(file);
		map.refresh();
		assert.equal(map.reason, undefined);
		assert.equal(map.lookup(0x1001)?.name, "kept");
	});

	test("refused: a symlink, a file writable by group or others, a FIFO", () => {
		const real = path.join(dir, "real.map");
		fs.writeFileSync(real, "1000 10 planted\n");
		const link = path.join(dir, "perf-20.map");
		fs.symlinkSync(real, link);
		assert.match((loadPerfMap(link) as { reason: string }).reason, /is a symlink/);
		const writable = path.join(dir, "perf-21.map");
		fs.writeFileSync(writable, "1000 10 planted\n");
		fs.chmodSync(writable, 0o666);
		assert.match((loadPerfMap(writable) as { reason: string }).reason, /writable by others \(mode 666\)/);
		fs.chmodSync(writable, 0o620);
		assert.match((loadPerfMap(writable) as { reason: string }).reason, /writable by others/);
		fs.chmodSync(writable, 0o644);
		assert.equal(loadPerfMap(writable).symbols?.size, 1);
	});

	test("a map that turns untrusted forgets what it named", () => {
		const file = path.join(dir, "perf-22.map");
		fs.writeFileSync(file, "1000 10 was_fine\n");
		const map = new PerfMapFile(file);
		map.refresh();
		assert.equal(map.lookup(0x1001)?.name, "was_fine");
		fs.chmodSync(file, 0o646);
		map.refresh();
		assert.match(map.reason ?? "", /writable by others/);
		assert.equal(map.lookup(0x1001), undefined);
	});

	test("owned by another user: refused; by the process's user or root: read", { skip: asRoot }, () => {
		const file = path.join(dir, "perf-23.map");
		fs.writeFileSync(file, "1000 10 theirs\n");
		fs.chownSync(file, 65534, 65534);
		assert.match((loadPerfMap(file, { allowedUids: [4242, 4242, 4242, 4242] }) as { reason: string }).reason, /owned by uid 65534, not by the process's user \(4242\)/);
		assert.equal(loadPerfMap(file, { allowedUids: [1000, 65534] }).symbols?.size, 1);
		fs.chownSync(file, 0, 0);
		assert.equal(loadPerfMap(file, { allowedUids: [4242] }).symbols?.size, 1);
	});
});
