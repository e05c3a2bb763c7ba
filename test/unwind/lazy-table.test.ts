import assert from "node:assert/strict";
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ElfCfi, readElfCfi } from "../../source/symbols/elf-reader.js";
import { CfiError } from "../../source/unwind/cfi.js";
import { LazyUnwindTable } from "../../source/unwind/lazy-table.js";
import { UnwindTable } from "../../source/unwind/table.js";
import { compileElfCfi, tableOfCfi } from "../../source/unwind/tables.js";
import { prng } from "../helpers/prng.js";
import { NO_FP, buildFixture, haveTools, readelfRows } from "./fixture.js";

const skip = !haveTools() && process.env.CI !== "true" ? "needs gcc and readelf" : false;
const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";

let dir: string;
let nofp: string;

before(() => {
	if (skip) return;
	dir = mkdtempSync(join(tmpdir(), "tsprof-lazy-"));
	nofp = buildFixture(dir, "nofp", NO_FP);
});
after(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
});

function cfiOf(path: string): ElfCfi {
	const fd = openSync(path, "r");
	try {
		return readElfCfi(fd, fstatSync(fd).size);
	} finally {
		closeSync(fd);
	}
}

function lazyOf(cfi: ElfCfi): LazyUnwindTable {
	const t = tableOfCfi(cfi);
	assert.ok(t instanceof LazyUnwindTable, "a file with .eh_frame_hdr gets the lazy table");
	return t;
}

/** The same rule, or no rule in both. */
function assertSameRule(eager: UnwindTable, lazy: LazyUnwindTable, vaddr: number): void {
	const i = eager.find(vaddr);
	const j = lazy.find(vaddr);
	const at = `0x${vaddr.toString(16)}`;
	assert.equal(j >= 0, i >= 0, `${at} covered in one table only`);
	if (i < 0) return;
	assert.deepEqual([lazy.kinds[j], lazy.cfaOffsets[j], lazy.rbpOffsets[j]], [eager.kinds[i], eager.cfaOffsets[i], eager.rbpOffsets[i]], at);
}

describe("the lazy unwind table", { skip }, () => {
	test("gives the rule of the whole-file table at every row readelf prints, and around each FDE", () => {
		const cfi = cfiOf(nofp);
		const eager = compileElfCfi(cfi);
		const lazy = lazyOf(cfi);
		const rows = readelfRows(nofp);
		assert.ok(rows.length > 10, `${rows.length} rows`);
		for (const r of rows) {
			assertSameRule(eager, lazy, r.loc);
			assert.ok(lazy.find(r.loc) >= 0 || r.cfa === "undefined", `0x${r.loc.toString(16)} has a row`);
			// The last byte of the FDE and the first past it.
			assertSameRule(eager, lazy, r.end - 1);
			assertSameRule(eager, lazy, r.end);
		}
	});

	test("agrees with the whole-file table on 20,000 addresses of libc, and compiles only the FDEs they fall in", () => {
		const cfi = cfiOf(LIBC);
		const eager = compileElfCfi(cfi);
		const lazy = lazyOf(cfi);
		assert.equal(lazy.compiled, 0, "nothing is compiled before the first lookup");
		const before = lazy.byteSize;
		const rand = prng(0x1a2b);
		const lo = eager.pcs[0];
		const hi = eager.pcs[eager.length - 1];
		// Addresses in a few hot functions, as a profile's are, then spread over the whole file.
		const hot = Array.from({ length: 8 }, () => Math.floor(lo + rand() * (hi - lo)));
		for (let k = 0; k < 2000; k++) assertSameRule(eager, lazy, hot[k % hot.length] + (k % 64));
		assert.ok(lazy.compiled <= 16, `${lazy.compiled} FDEs compiled for 8 hot spots`);
		for (let k = 0; k < 18_000; k++) assertSameRule(eager, lazy, Math.floor(lo + rand() * (hi - lo)));
		assert.ok(lazy.byteSize > before, "compiled rows are counted");
		assert.ok(lazy.compiled <= lazy.fdes);
		// The header indexes every FDE, the empty ones too.
		assert.ok(lazy.fdes >= eager.fdes, `${lazy.fdes} indexed, ${eager.fdes} compiled whole`);
	});

	test("a file with .debug_frame is compiled whole; a header it cannot use falls back to that too", () => {
		const withDebug = buildFixture(dir, "debugframe", [...NO_FP, "-g", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"]);
		assert.ok(tableOfCfi(cfiOf(withDebug)) instanceof UnwindTable);
		const cfi = cfiOf(nofp);
		const hdr = cfi.ehFrameHdr;
		assert.ok(hdr && cfi.ehFrame);
		const odd = Buffer.from(hdr.bytes);
		odd[3] = 0x03; // a table encoding no linker writes
		assert.ok(tableOfCfi({ ...cfi, ehFrameHdr: { vaddr: hdr.vaddr, bytes: odd } }) instanceof UnwindTable);
	});

	test("a hostile header is refused or yields no rule, never a throw or a wrong FDE", () => {
		const cfi = cfiOf(nofp);
		const hdr = cfi.ehFrameHdr;
		const eh = cfi.ehFrame;
		assert.ok(hdr && eh);
		const input = { textVaddr: cfi.textVaddr, dataVaddr: cfi.gotVaddr };
		// A count larger than the section.
		const long = Buffer.from(hdr.bytes);
		long.writeUInt32LE(0x0fff_ffff, 8);
		assert.throws(() => new LazyUnwindTable({ vaddr: hdr.vaddr, bytes: long }, eh, input), CfiError);
		// Every FDE pointer moved by 8 bytes: each lands on no FDE that starts where the header says.
		const moved = Buffer.from(hdr.bytes);
		const count = moved.readUInt32LE(8);
		for (let i = 0; i < count; i++) moved.writeInt32LE(moved.readInt32LE(12 + i * 8 + 4) + 8, 12 + i * 8 + 4);
		const bad = new LazyUnwindTable({ vaddr: hdr.vaddr, bytes: moved }, eh, input);
		for (const r of readelfRows(nofp)) assert.equal(bad.find(r.loc), -1);
		// Pointers outside .eh_frame altogether.
		const outside = Buffer.from(hdr.bytes);
		for (let i = 0; i < count; i++) outside.writeInt32LE(i % 2 ? 0x7fff_fff0 : -0x7fff_fff0, 12 + i * 8 + 4);
		const far = new LazyUnwindTable({ vaddr: hdr.vaddr, bytes: outside }, eh, input);
		for (const r of readelfRows(nofp)) assert.equal(far.find(r.loc), -1);
	});
});
