import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { loadPerfMap, parsePerfMap, perfMapPath } from "../../source/symbols/perf-map.js";
import { PackedSymbols, type SymbolEntry, SymbolTable } from "../../source/symbols/symbol-table.js";
import { prng } from "../helpers/prng.js";

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


/** NUL-terminated names laid out as a string table, and where each one starts. */
function stringTable(names: readonly Buffer[]): { bytes: Buffer; offsets: number[] } {
	const offsets: number[] = [];
	const parts: Buffer[] = [Buffer.from([0])];
	let at = 1;
	for (const name of names) {
		offsets.push(at);
		parts.push(name, Buffer.from([0]));
		at += name.length + 1;
	}
	return { bytes: Buffer.concat(parts), offsets };
}

/** Every stored symbol, and lookups around each one's start and end. */
function resolutions(table: SymbolTable): unknown[] {
	const out: unknown[] = [];
	for (const symbol of table) {
		out.push(symbol);
		for (const at of [symbol.start - 1, symbol.start, symbol.start + 1, symbol.end - 1, symbol.end]) {
			out.push(table.lookup(at));
		}
	}
	return out;
}

describe("SymbolTable from PackedSymbols", () => {
	// Aliases that exercise every preference rule on bytes: underscores, equal
	// lengths, prefixes, non-ASCII (where bytes and UTF-16 order or count
	// differently: U+E000 sorts after U+1F600 in UTF-8, before it in UTF-16),
	// and invalid UTF-8, which decodes to U+FFFD.
	const INVALID_UTF8 = [
		[0xff, 0x41],
		[0xfe, 0x41],
		[0x5f, 0xc3],
		[0xc3, 0xa9, 0x80],
	];
	const NAMES = [
		"malloc",
		"__libc_malloc",
		"_malloc",
		"free",
		"frex",
		"a",
		"b",
		"ab",
		"ba",
		"abc",
		"_",
		"__",
		"___x",
		"_Z3foov",
		"café",
		"cafe",
		"\u{1F600}x",
		"x\u{1F600}",
		"\uE000y",
		"\uE000",
		"\u{1F600}",
	]
		.map((name) => Buffer.from(name))
		.concat(INVALID_UTF8.map((bytes) => Buffer.from(bytes)));

	/** The same random symbols as entries and packed (names split over two string tables), in the same order. */
	function randomTables(seed: number, count: number, spread: number): [SymbolTable, SymbolTable] {
		const random = prng(seed);
		const int = (below: number) => Math.floor(random() * below);
		const tables = [stringTable(NAMES), stringTable([...NAMES].reverse())];
		const packed = new PackedSymbols();
		const ids = tables.map((table) => packed.addStrings(table.bytes));
		const entries: SymbolEntry[] = [];
		for (let i = 0; i < count; i++) {
			const start = 0x1000 + int(count / 3) * spread;
			const size = int(3) === 0 ? 0 : 1 + int(64);
			const maxEnd = int(4) === 0 ? start + int(200) : undefined;
			const rank = int(3);
			const name = int(NAMES.length);
			const table = int(2);
			const offset = tables[table].offsets[table === 0 ? name : NAMES.length - 1 - name];
			entries.push({ name: NAMES[name].toString("utf8"), start, size, maxEnd, rank });
			assert.ok(packed.add(start, size, maxEnd, rank, ids[table], offset, NAMES[name].length));
		}
		return [new SymbolTable(entries), new SymbolTable(packed)];
	}

	test("resolves exactly as the same symbols given as entries", () => {
		// Small (comparison sort), large (radix sort), and spread over more than 2^32 bytes.
		for (const [seed, count, spread] of [
			[1, 300, 16],
			[2, 9000, 16],
			[3, 9000, 2 ** 22],
		]) {
			const [fromEntries, fromPacked] = randomTables(seed, count, spread);
			assert.ok(fromEntries.size > count / 4, "many addresses");
			assert.ok(fromEntries.size < count, "and aliases at some of them");
			assert.deepEqual(resolutions(fromPacked), resolutions(fromEntries), `seed ${seed}`);
		}
	});

	test("many symbols sharing names resolve (their names stay in the string table, not copied per symbol)", () => {
		const packed = new PackedSymbols();
		const { bytes, offsets } = stringTable([Buffer.from("shared"), Buffer.from("other")]);
		const id = packed.addStrings(bytes);
		for (let i = 0; i < 1000; i++) {
			const other = i % 7 === 0;
			packed.add(0x1000 + i * 16, 8, undefined, 0, id, offsets[other ? 1 : 0], other ? 5 : 6);
		}
		const table = new SymbolTable(packed);
		assert.equal(table.size, 1000);
		assert.deepEqual(table.lookup(0x1000 + 7 * 16 + 3), { name: "other", offset: 3 });
		assert.deepEqual(table.lookup(0x1000 + 999 * 16), { name: "shared", offset: 0 });
		assert.equal(table.lookup(0x1000 + 8), undefined);
	});

	test("bad input: addresses are skipped, names outside their table and ranks are refused", () => {
		const packed = new PackedSymbols();
		const { bytes, offsets } = stringTable([Buffer.from("ok")]);
		const id = packed.addStrings(bytes);
		assert.equal(packed.add(-1, 4, undefined, 0, id, offsets[0], 2), false);
		assert.equal(packed.add(2 ** 53, 4, undefined, 0, id, offsets[0], 2), false);
		assert.equal(packed.add(0x10, 1.5, undefined, 0, id, offsets[0], 2), false);
		assert.throws(() => packed.add(0x10, 4, undefined, 0, id, offsets[0], 4), RangeError);
		assert.throws(() => packed.add(0x10, 4, undefined, 0, id, offsets[0], 0), RangeError);
		assert.throws(() => packed.add(0x10, 4, undefined, 0, id + 1, offsets[0], 2), RangeError);
		assert.throws(() => packed.add(0x10, 4, undefined, 256, id, offsets[0], 2), RangeError);
		assert.equal(packed.add(0x20, 4, Number.NaN, 0, id, offsets[0], 2), true);
		const table = new SymbolTable(packed);
		assert.equal(table.size, 1);
		assert.deepEqual(table.lookup(0x23), { name: "ok", offset: 3 });
		assert.equal(new SymbolTable(new PackedSymbols()).lookup(0), undefined);
	});

	test("the best alias so far is not decoded again for each rival", () => {
		// A long non-ASCII name that beats 200k rivals at its address: decoding
		// it per comparison would be 200k x 60 KB.
		const long = Buffer.from("é".repeat(30_000));
		const { bytes, offsets } = stringTable([long, Buffer.from("é")]);
		const packed = new PackedSymbols();
		const id = packed.addStrings(bytes);
		packed.add(0x1000, 16, undefined, 0, id, offsets[0], long.length);
		for (let i = 0; i < 200_000; i++) packed.add(0x1000, 16, undefined, 0, id, offsets[1], 2);
		const started = performance.now();
		const table = new SymbolTable(packed);
		assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
		assert.equal(table.lookup(0x1000)?.name, "é".repeat(30_000));
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
		assert.match((loadPerfMap(file, { allowedUids: [4242] }) as { reason: string }).reason, /owned by uid 12345/);
		assert.equal(loadPerfMap(file, { allowedUids: [12345] }).symbols?.size, 5);
		// Root-owned maps are accepted: a root process's JIT writes them.
		fs.chownSync(file, 0, 0);
		assert.equal(loadPerfMap(file, { allowedUids: [4242] }).symbols?.size, 5);
	});
});
