import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { KALLSYMS_HIDDEN, loadKallsyms, parseKallsyms } from "../source/symbols/kallsyms.js";

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
});

describe("loadKallsyms", () => {
	test("an unreadable file gives a reason, not an exception", () => {
		const table = loadKallsyms("/nonexistent/kallsyms");
		assert.equal(table.size, 0);
		assert.match(table.unavailableReason ?? "", /ENOENT/);
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
