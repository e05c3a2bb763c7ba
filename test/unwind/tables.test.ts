import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Mapping } from "../../source/process/image.js";
import { withOwnVdsoFile } from "../../source/symbols/vdso.js";
import { TableCache, tableOfFile } from "../../source/unwind/tables.js";
import { NO_FP, buildFixture, haveTools, readelfRows } from "./fixture.js";

const skip = !haveTools() && process.env.CI !== "true" ? "needs gcc and readelf" : false;
const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";

let dir: string;
let emptyProc: string;
let exe: string;

before(() => {
	if (skip) return;
	dir = mkdtempSync(join(tmpdir(), "tsprof-tables-"));
	emptyProc = mkdtempSync(join(tmpdir(), "tsprof-noproc-"));
	exe = buildFixture(dir, "nofp", NO_FP);
});
after(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
	if (emptyProc) rmSync(emptyProc, { recursive: true, force: true });
});

function mapping(path: string, extra: Partial<Mapping> = {}): Mapping {
	return { start: 0x10000n, end: 0x20000n, pgoff: 0n, path, ...extra };
}

describe("the table cache", { skip }, () => {
	test("the vDSO's table comes from tsprof's own vDSO and covers its functions", () => {
		const cache = new TableCache({ procRoot: emptyProc });
		const t = cache.get(1, mapping("[vdso]"));
		assert.ok("table" in t, "error" in t ? t.error : "");
		// Every row readelf finds in the same vDSO is covered, with the same CFA.
		const rows = withOwnVdsoFile(readelfRows);
		assert.ok(rows.length >= 3, `${rows.length} rows`);
		for (const r of rows) {
			const i = t.table.find(r.loc);
			assert.ok(i >= 0, `0x${r.loc.toString(16)}`);
			const m = /^rsp\+(\d+)$/.exec(r.cfa);
			if (m) assert.equal(t.table.cfaOffsets[i], Number(m[1]));
		}
		assert.ok(cache.stats().bytes >= t.table.byteSize, "the vDSO's rows are counted");
	});

	test("files are compiled once per identity, and a kernel file key skips the open", () => {
		const cache = new TableCache({ procRoot: emptyProc });
		const a = cache.get(1, mapping(exe, { fileKey: "d:1:2:3" }));
		assert.ok("table" in a);
		assert.deepEqual([cache.stats().misses, cache.stats().hits], [1, 0]);
		// Another process, another mapping object, the same file.
		const b = cache.get(2, mapping(exe, { fileKey: "d:1:2:3", start: 0x50000n, end: 0x60000n }));
		assert.equal(b, a);
		assert.deepEqual([cache.stats().misses, cache.stats().hits], [1, 1]);
		// Without a key, the file is opened, found by identity, and not compiled again.
		const c = cache.get(3, mapping(exe));
		assert.equal(c, a);
		assert.deepEqual([cache.stats().misses, cache.stats().hits], [1, 2]);
	});

	test("a changed file is a new identity: its old table is never used for it", () => {
		const copy = join(dir, "copy");
		copyFileSync(exe, copy);
		const cache = new TableCache({ procRoot: emptyProc });
		const before = cache.get(1, mapping(copy));
		copyFileSync(LIBC, copy);
		const after = cache.get(2, mapping(copy));
		assert.ok("table" in before && "table" in after);
		assert.notEqual(after, before);
		assert.ok(after.table.fdes > before.table.fdes);
	});

	test("the byte budget holds: tables are evicted, not accumulated", () => {
		const exeBytes = (tableOfFile(exe) as { table: { byteSize: number } }).table.byteSize;
		const cache = new TableCache({ procRoot: emptyProc, maxBytes: exeBytes + 1024 });
		assert.ok("table" in cache.get(1, mapping(exe)));
		// libc's table alone is larger than the budget: it is compiled and used, but not kept.
		assert.ok("table" in cache.get(1, mapping(LIBC)));
		assert.ok(cache.stats().bytes <= exeBytes + 1024, `${cache.stats().bytes} bytes`);
	});

	test("files without CFI, unreadable files and anonymous memory are errors, not exceptions", () => {
		const cache = new TableCache({ procRoot: emptyProc });
		const text = join(dir, "notes.txt");
		writeFileSync(text, "not an ELF file\n");
		const bad = cache.get(1, mapping(text));
		assert.ok("error" in bad && /bad CFI/.test(bad.error), JSON.stringify(bad));
		const gone = cache.get(1, mapping(join(dir, "missing")));
		assert.ok("error" in gone);
		const anon = cache.get(1, mapping("//anon"));
		assert.ok("error" in anon);
		assert.ok(cache.stats().errors >= 2);
	});

	test("a build-id that differs from the kernel's rejects the file at that path", () => {
		const cache = new TableCache({ procRoot: emptyProc });
		const r = cache.get(1, mapping(exe, { buildId: "00".repeat(20) }));
		assert.ok("error" in r && r.error === "build-id mismatch", JSON.stringify(r));
	});
});
