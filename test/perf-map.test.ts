import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { loadPerfMap, parsePerfMap, perfMapPath } from "../source/symbols/perf-map.js";
import { SymbolTable } from "../source/symbols/symbol-table.js";

const V8_STYLE = [
	"7f0000001000 40 LazyCompile:~foo /app/x.js:1",
	"7f0000001040 20 Builtin: ArgumentsAdaptorTrampoline",
	"0x7f0000002000 0x10 with_prefix",
	"7f0000003000 0 zero_size",
	"7f0000003100 10 after_zero",
	"",
].join("\n");

describe("parsePerfMap", () => {
	const { symbols, malformedLines } = parsePerfMap(V8_STYLE);

	test("names keep their spaces", () => {
		assert.equal(malformedLines, 0);
		assert.equal(symbols.size, 5);
		assert.deepEqual(symbols.lookup(0x7f0000001000), { name: "LazyCompile:~foo /app/x.js:1", offset: 0 });
		assert.deepEqual(symbols.lookup(0x7f0000001040), { name: "Builtin: ArgumentsAdaptorTrampoline", offset: 0 });
	});

	test("lookup boundaries: start inclusive, end exclusive, gaps empty", () => {
		assert.equal(symbols.lookup(0x7f0000000fff), undefined, "before the first symbol");
		assert.deepEqual(symbols.lookup(0x7f000000103f), { name: "LazyCompile:~foo /app/x.js:1", offset: 0x3f });
		assert.deepEqual(symbols.lookup(0x7f000000105f)?.name, "Builtin: ArgumentsAdaptorTrampoline");
		assert.equal(symbols.lookup(0x7f0000001060), undefined, "in the gap after a sized symbol");
		assert.deepEqual(symbols.lookup(0x7f000000200f), { name: "with_prefix", offset: 0xf });
		assert.equal(symbols.lookup(0x7f0000002010), undefined);
	});

	test("a size-0 entry runs to the next symbol", () => {
		assert.deepEqual(symbols.lookup(0x7f00000030ff), { name: "zero_size", offset: 0xff });
		assert.deepEqual(symbols.lookup(0x7f0000003100), { name: "after_zero", offset: 0 });
		assert.equal(symbols.lookup(0x7f0000003110), undefined);
	});

	test("malformed lines are skipped and counted; blank lines are not malformed", () => {
		const text = [
			"nothex 10 foo",
			"7f00 10",
			"7f00",
			"7f00 zz foo",
			"ffffffffffffffff 10 too_large",
			"1fffffffffffff 10 ends_past_2^53",
			"12345678901234567 10 seventeen_digits",
			"",
			"   ",
			"1000 10 good\r",
			"  2000   8   padded name  ",
		].join("\n");
		const parsed = parsePerfMap(text);
		assert.equal(parsed.malformedLines, 7);
		assert.equal(parsed.symbols.size, 2);
		assert.deepEqual(parsed.symbols.lookup(0x1001), { name: "good", offset: 1 });
		assert.deepEqual(parsed.symbols.lookup(0x2007), { name: "padded name", offset: 7 });
	});

	test("the later line wins at a reused address", () => {
		const parsed = parsePerfMap("1000 10 old\n1000 20 new\n2000 10 other\n2000 10 other_newer\n");
		assert.deepEqual(parsed.symbols.lookup(0x1018), { name: "new", offset: 0x18 });
		assert.deepEqual(parsed.symbols.lookup(0x2000), { name: "other_newer", offset: 0 });
	});

	test("a hostile line (long whitespace runs) parses in linear time", () => {
		const line = `1000 10 ${"a ".repeat(200_000)}\n${" ".repeat(200_000)}x\n1000${" ".repeat(200_000)}`;
		const started = performance.now();
		const parsed = parsePerfMap(line);
		assert.ok(performance.now() - started < 500);
		assert.equal(parsed.malformedLines, 2);
		assert.equal(parsed.symbols.size, 1);
	});
});

describe("SymbolTable", () => {
	test("an address in a nested symbol's tail resolves to the enclosing one", () => {
		const table = new SymbolTable([
			{ name: "outer", start: 0x1000, size: 0x100 },
			{ name: "inner", start: 0x1010, size: 0x10 },
		]);
		assert.deepEqual(table.lookup(0x1015), { name: "inner", offset: 5 });
		assert.deepEqual(table.lookup(0x1030), { name: "outer", offset: 0x30 });
		assert.equal(table.lookup(0x1100), undefined);
	});

	test("a size-0 last symbol is capped, by default at 1 MiB", () => {
		const table = new SymbolTable([{ name: "last", start: 0x5000, size: 0 }]);
		assert.deepEqual(table.lookup(0x5000 + 0xfffff), { name: "last", offset: 0xfffff });
		assert.equal(table.lookup(0x5000 + 0x100000), undefined);
		const small = new SymbolTable([{ name: "last", start: 0x5000, size: 0 }], { maxImplicitSize: 0x10 });
		assert.equal(small.lookup(0x5010), undefined);
	});

	test("a size-0 symbol stops at its maxEnd (end of its section)", () => {
		const table = new SymbolTable([
			{ name: "asm_stub", start: 0x1000, size: 0, maxEnd: 0x1040 },
			{ name: "far", start: 0x9000, size: 0x10 },
		]);
		assert.deepEqual(table.lookup(0x103f), { name: "asm_stub", offset: 0x3f });
		assert.equal(table.lookup(0x1040), undefined);
	});

	test("aliases: one per address, chosen as perf does", () => {
		const table = new SymbolTable([
			{ name: "__libc_malloc", start: 0x100, size: 0x20 },
			{ name: "malloc", start: 0x100, size: 0x20 },
			{ name: "zero_alias", start: 0x100, size: 0 },
			{ name: "ranked_low", start: 0x200, size: 8, rank: 0 },
			{ name: "ranked_high", start: 0x200, size: 8, rank: 5 },
		]);
		assert.equal(table.size, 2);
		assert.equal(table.lookup(0x100)?.name, "malloc");
		assert.equal(table.lookup(0x200)?.name, "ranked_high");
	});

	test("bad entries and addresses are ignored", () => {
		const table = new SymbolTable([
			{ name: "negative", start: -1, size: 4 },
			{ name: "fractional", start: 1.5, size: 4 },
			{ name: "huge", start: 2 ** 53, size: 4 },
			{ name: "nan_size", start: 0x10, size: Number.NaN },
			{ name: "ok", start: 0x20, size: 4 },
		]);
		assert.equal(table.size, 1);
		assert.equal(table.lookup(Number.NaN), undefined);
		assert.equal(table.lookup(-5), undefined);
		assert.equal(table.lookup(Number.POSITIVE_INFINITY), undefined);
		assert.equal(new SymbolTable([]).lookup(0), undefined);
	});
});

describe("loadPerfMap", () => {
	let dir = "";
	before(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsprof-perfmap-"));
	});
	after(() => {
		if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
	});

	test("perfMapPath follows the convention", () => {
		assert.equal(perfMapPath(1234), "/tmp/perf-1234.map");
		assert.equal(perfMapPath(7, "/proc/7/root/tmp"), "/proc/7/root/tmp/perf-7.map");
	});

	test("reads and parses a file", () => {
		const file = path.join(dir, "perf-1.map");
		fs.writeFileSync(file, V8_STYLE);
		const map = loadPerfMap(file);
		assert.ok(map.symbols !== undefined);
		assert.equal(map.symbols.size, 5);
	});

	test("missing files, directories and FIFOs give a reason, never hang or throw", () => {
		assert.match((loadPerfMap(path.join(dir, "nope.map")) as { reason: string }).reason, /ENOENT/);
		assert.match((loadPerfMap(dir) as { reason: string }).reason, /not a regular file/);
		const fifo = path.join(dir, "fifo.map");
		execFileSync("mkfifo", [fifo]);
		assert.match((loadPerfMap(fifo) as { reason: string }).reason, /not a regular file/);
	});

	test("maxBytes caps the read and drops the cut line", () => {
		const file = path.join(dir, "perf-2.map");
		fs.writeFileSync(file, "1000 10 first\n2000 10 second_is_cut\n");
		const map = loadPerfMap(file, { maxBytes: 20 });
		assert.ok(map.symbols !== undefined);
		assert.equal(map.symbols.size, 1);
		assert.equal(map.malformedLines, 0);
	});

	test("a file owned by another user is refused", { skip: process.getuid?.() === 0 ? false : "needs root to chown" }, () => {
		const file = path.join(dir, "perf-3.map");
		fs.writeFileSync(file, V8_STYLE);
		fs.chownSync(file, 12345, 12345);
		assert.match((loadPerfMap(file, { expectedUid: 4242 }) as { reason: string }).reason, /owned by uid 12345/);
		assert.equal(loadPerfMap(file, { expectedUid: 12345 }).symbols?.size, 5);
		// Root-owned maps are accepted: a root process's JIT writes them.
		fs.chownSync(file, 0, 0);
		assert.equal(loadPerfMap(file, { expectedUid: 4242 }).symbols?.size, 5);
	});
});
