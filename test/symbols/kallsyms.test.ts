import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { KALLSYMS_HIDDEN, KernelSymbols, loadKallsyms, parseKallsyms } from "../../source/symbols/kallsyms.js";

const SAMPLE = [
	"ffffffff81000000 t startup_64",
	"ffffffff81000000 T _stext",
	"ffffffff81000100 T do_one",
	"ffffffff81000180 t helper",
	"ffffffff81000200 D some_data",
	"ffffffff81000280 b some_bss",
	"ffffffff81000300 W weak_fn",
	"ffffffff81000400 T _etext",
	"ffffffffc0201000 t mod_fn\t[nf_tables]",
	"ffffffffc0201080 T mod_fn2\t[nf_tables]",
	"ffffffffc0300000 t other\t[xfs]",
	"",
].join("\n");

describe("parseKallsyms", () => {
	const table = parseKallsyms(SAMPLE);

	test("keeps text symbols only, one per address", () => {
		assert.equal(table.unavailableReason, undefined);
		assert.equal(table.malformedLines, 0);
		assert.equal(table.size, 8);
		assert.equal(table.base, 0xffffffff81000000n);
	});

	test("a global symbol beats a local alias at the same address", () => {
		assert.deepEqual(table.lookup(0xffffffff81000000n), { name: "_stext", offset: 0 });
	});

	test("lookup boundaries", () => {
		assert.equal(table.lookup(0xffffffff80ffffffn), undefined, "below the lowest symbol");
		assert.equal(table.lookup(0n), undefined);
		assert.deepEqual(table.lookup(0xffffffff810000ffn), { name: "_stext", offset: 0xff });
		assert.deepEqual(table.lookup(0xffffffff81000100n), { name: "do_one", offset: 0 });
		assert.deepEqual(table.lookup(0xffffffff81000105n), { name: "do_one", offset: 5 });
		// Data symbols do not end a function: helper runs to the next text symbol.
		assert.deepEqual(table.lookup(0xffffffff810002ffn), { name: "helper", offset: 0x17f });
		assert.deepEqual(table.lookup(0xffffffff81000300n), { name: "weak_fn", offset: 0 });
	});

	test("module symbols carry their module", () => {
		assert.deepEqual(table.lookup(0xffffffffc0201000n), { name: "mod_fn", module: "nf_tables", offset: 0 });
		assert.deepEqual(table.lookup(0xffffffffc0201090n), { name: "mod_fn2", module: "nf_tables", offset: 0x10 });
		assert.deepEqual(table.lookup(0xffffffffc0300010n), { name: "other", module: "xfs", offset: 0x10 });
		assert.equal(table.lookup(0xffffffff81000105n)?.module, undefined);
	});

	test("a symbol reaches at most maxSymbolSize past its start", () => {
		// Default cap 1 MiB: the last symbol does not swallow the rest of the address space.
		assert.deepEqual(table.lookup(0xffffffffc0300000n + 0xfffffn), { name: "other", module: "xfs", offset: 0xfffff });
		assert.equal(table.lookup(0xffffffffc0300000n + 0x100000n), undefined);
		assert.equal(table.lookup(0xffffffffffffffffn), undefined);
		const small = parseKallsyms(SAMPLE, { maxSymbolSize: 0x10 });
		assert.deepEqual(small.lookup(0xffffffff8100010fn), { name: "do_one", offset: 0xf });
		assert.equal(small.lookup(0xffffffff81000110n), undefined);
	});

	test("all-zero addresses mean kallsyms is hidden", () => {
		const hidden = parseKallsyms(
			"0000000000000000 T _stext\n0000000000000000 t helper\n0000000000000000 t mod_fn\t[nf_tables]\n",
		);
		assert.equal(hidden.size, 0);
		assert.equal(hidden.unavailableReason, KALLSYMS_HIDDEN);
		assert.equal(hidden.lookup(0xffffffff81000000n), undefined);
	});

	test("an empty or data-only file gives a reason too", () => {
		assert.equal(parseKallsyms("").size, 0);
		assert.ok(parseKallsyms("").unavailableReason);
		const dataOnly = parseKallsyms("ffffffff82000000 D jiffies\n");
		assert.equal(dataOnly.size, 0);
		assert.ok(dataOnly.unavailableReason);
		assert.notEqual(dataOnly.unavailableReason, KALLSYMS_HIDDEN);
	});

	test("malformed lines are skipped and counted", () => {
		const text = [
			"garbage",
			"ffffffff81000000 T",
			"zzzzzzzzzzzzzzzz T bad_hex",
			"ffffffff81000000 TT two_letter_type",
			"ffffffff81000000 T name notbracketed",
			"ffffffff81000000 T name [mod] extra",
			"1ffffffff81000000 T seventeen_digits",
			"",
			"   ",
			"ffffffff81000010 T good\r",
			"ffffffff81000020 t good_mod [mod]",
		].join("\n");
		const parsed = parseKallsyms(text);
		assert.equal(parsed.malformedLines, 7);
		assert.equal(parsed.size, 2);
		assert.deepEqual(parsed.lookup(0xffffffff81000011n), { name: "good", offset: 1 });
		assert.deepEqual(parsed.lookup(0xffffffff81000020n), { name: "good_mod", module: "mod", offset: 0 });
	});

	test("short (32-bit style) addresses parse", () => {
		const parsed = parseKallsyms("c1000000 T _stext\nc1000100 T next_fn\n");
		assert.equal(parsed.base, 0xc1000000n);
		assert.deepEqual(parsed.lookup(0xc1000104n), { name: "next_fn", offset: 4 });
	});

	test("input order does not matter: module symbols after the kernel, aliases either way round", () => {
		const lines = SAMPLE.split("\n").filter((line) => line !== "");
		const shuffled = [lines[8], lines[10], lines[2], lines[1], lines[9], lines[0], lines[7], lines[3], lines[6]].join("\n");
		const parsed = parseKallsyms(shuffled);
		assert.equal(parsed.size, table.size);
		assert.equal(parsed.base, table.base);
		for (const line of lines) {
			const addr = BigInt(`0x${line.slice(0, 16)}`);
			for (const at of [addr - 1n, addr, addr + 0x7fn]) assert.deepEqual(parsed.lookup(at), table.lookup(at), at.toString(16));
		}
		assert.deepEqual(parsed.lookup(0xffffffff81000000n), { name: "_stext", offset: 0 });
	});

	test("aliases: global beats local beats weak, then fewer leading underscores, then the longer name", () => {
		const aliases = (...lines: string[]) => parseKallsyms(lines.map((line) => `ffffffff81000000 ${line}`).join("\n")).lookup(0xffffffff81000000n)?.name;
		assert.equal(aliases("W weak", "t local", "T global"), "global");
		assert.equal(aliases("w weak", "t local"), "local");
		assert.equal(aliases("T __do_x", "T do_x", "T _do_x"), "do_x");
		assert.equal(aliases("T abc", "T abcd", "T ab"), "abcd");
		assert.equal(aliases("T b", "T a"), "a");
	});

	test("names and modules are UTF-8", () => {
		const parsed = parseKallsyms("ffffffff81000000 T naïve_fn\t[mödule]\nffffffff81000010 t 関数\n");
		assert.deepEqual(parsed.lookup(0xffffffff81000001n), { name: "naïve_fn", module: "mödule", offset: 1 });
		assert.deepEqual(parsed.lookup(0xffffffff81000010n), { name: "関数", offset: 0 });
	});

	test("addresses more than 4 GiB apart", () => {
		const parsed = parseKallsyms("ffffffff81000000 T high_fn\nffff800000001000 t low_fn\nffff800000001000 T low_alias\n");
		assert.equal(parsed.base, 0xffff800000001000n);
		assert.equal(parsed.size, 2);
		assert.deepEqual(parsed.lookup(0xffff800000001008n), { name: "low_alias", offset: 8 });
		assert.deepEqual(parsed.lookup(0xffffffff81000010n), { name: "high_fn", offset: 0x10 });
	});

	test("a text address too far from the others to be an exact offset is malformed", () => {
		const parsed = parseKallsyms("0000000000001000 T tiny\nffffffff81000000 T far\n");
		assert.equal(parsed.base, 0x1000n);
		assert.equal(parsed.size, 1);
		assert.equal(parsed.malformedLines, 1);
		assert.equal(parsed.lookup(0xffffffff81000000n), undefined);
	});

	test("more than 65535 modules", () => {
		const lines = Array.from({ length: 70000 }, (_, i) => `${(0xffffffffc0000000n + BigInt(i * 16)).toString(16)} t fn_${i}\t[mod_${i}]`);
		const parsed = parseKallsyms(lines.join("\n"));
		assert.equal(parsed.size, 70000);
		assert.deepEqual(parsed.lookup(0xffffffffc0000000n + 69999n * 16n + 3n), { name: "fn_69999", module: "mod_69999", offset: 3 });
		assert.deepEqual(parsed.lookup(0xffffffffc0000000n), { name: "fn_0", module: "mod_0", offset: 0 });
	});
});

describe("KernelSymbols", () => {
	test("builds from entries: text types only, exact offsets only, preferred alias", () => {
		const table = new KernelSymbols(
			0xffffffff81000000n,
			[
				{ name: "fn", offset: 0x100, type: "T" },
				{ name: "local_alias", offset: 0x100, type: "t" },
				{ name: "data", offset: 0x180, type: "D" },
				{ name: "mod_fn", offset: 0x200, type: "t", module: "xfs" },
				{ name: "far", offset: 2 ** 40, type: "T" },
				{ name: "negative", offset: -1, type: "T" },
				{ name: "fraction", offset: 1.5, type: "T" },
				{ name: "huge", offset: 2 ** 53, type: "T" },
			],
			{ malformedLines: 2 },
		);
		assert.equal(table.size, 3);
		assert.equal(table.malformedLines, 2);
		assert.deepEqual(table.lookup(0xffffffff81000184n), { name: "fn", offset: 0x84 });
		assert.deepEqual(table.lookup(0xffffffff81000200n), { name: "mod_fn", module: "xfs", offset: 0 });
		assert.deepEqual(table.lookup(0xffffffff81000000n + 2n ** 40n + 1n), { name: "far", offset: 1 });
		assert.equal(table.lookup(0xffffffff81000000n), undefined);
	});

	test("an empty table", () => {
		const table = new KernelSymbols(0n, [], { unavailableReason: "why" });
		assert.equal(table.size, 0);
		assert.equal(table.unavailableReason, "why");
		assert.equal(table.lookup(0xffffffff81000000n), undefined);
	});
});

describe("loadKallsyms", () => {
	test("an unreadable file gives a reason, not an exception", () => {
		const table = loadKallsyms("/nonexistent/kallsyms");
		assert.equal(table.size, 0);
		assert.match(table.unavailableReason ?? "", /ENOENT/);
		assert.match(loadKallsyms(os.tmpdir()).unavailableReason ?? "", /EISDIR/);
	});

	test("reads in chunks: lines across chunk ends, a line longer than a chunk, no final newline", () => {
		const lines: string[] = [];
		for (let i = 0; i < 40000; i++) {
			const module = i % 3 === 0 ? `\t[mod_${i % 7}]` : "";
			lines.push(`${(0xffffffff81000000n + BigInt(i * 32)).toString(16)} ${i % 5 === 0 ? "t" : "T"} function_number_${i}${module}`);
			if (i === 20000) lines.push(`ffffffff90000000 T ${"long_name_".repeat(60000)}`);
			if (i === 30000) lines.push(`ffffffff81000020 D data_${"x".repeat(1000)}`);
		}
		const text = lines.join("\n");
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsprof-kallsyms-"));
		try {
			const file = path.join(dir, "kallsyms");
			fs.writeFileSync(file, text);
			const loaded = loadKallsyms(file);
			const parsed = parseKallsyms(text);
			assert.equal(loaded.size, 40001);
			assert.equal(loaded.size, parsed.size);
			assert.equal(loaded.base, parsed.base);
			assert.equal(loaded.malformedLines, 0);
			for (let i = 0; i < 40000; i += 7) {
				const addr = 0xffffffff81000000n + BigInt(i * 32 + 5);
				assert.deepEqual(loaded.lookup(addr), parsed.lookup(addr));
				assert.equal(loaded.lookup(addr)?.name, `function_number_${i}`);
			}
			assert.equal(loaded.lookup(0xffffffff90000001n)?.name, "long_name_".repeat(60000));
			assert.deepEqual(loaded.lookup(0xffffffff81000000n + 39999n * 32n), { name: "function_number_39999", offset: 0, module: "mod_1" });
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	let text = "";
	try {
		text = fs.readFileSync("/proc/kallsyms", "utf8");
	} catch {}
	const line = /^([0-9a-f]+) [tT] (schedule|_stext)$/m.exec(text);
	const unreadable = line === null || /^0+$/.test(line[1]);

	test("the running kernel's symbols resolve", { skip: unreadable ? "/proc/kallsyms is hidden or unreadable" : false }, () => {
		const started = performance.now();
		const table = loadKallsyms();
		const elapsed = performance.now() - started;
		assert.equal(table.unavailableReason, undefined);
		assert.ok(table.size > 1000, `${table.size} symbols`);
		assert.ok(elapsed < 5000, `parsed in ${elapsed.toFixed(0)} ms`);
		const addr = BigInt(`0x${line?.[1]}`);
		// Aliases share the address (_stext and _text); any of them is right.
		const aliases = new Set(
			text
				.split("\n")
				.filter((l) => l.startsWith(`${line?.[1]} `))
				.map((l) => l.split(/\s+/)[2]),
		);
		const hit = table.lookup(addr);
		assert.ok(hit !== undefined);
		assert.equal(hit.offset, 0);
		assert.ok(aliases.has(hit.name), `${hit.name} is one of ${[...aliases].join(", ")}`);
		assert.equal(table.lookup(addr + 1n)?.name, hit.name);
	});
});
