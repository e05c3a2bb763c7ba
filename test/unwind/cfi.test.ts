import assert from "node:assert/strict";
import { existsSync, mkdtempSync, openSync, closeSync, fstatSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readElfCfi } from "../../source/symbols/elf-reader.js";
import { CfiError, compileCfi, describeRow } from "../../source/unwind/cfi.js";
import type { UnwindTable } from "../../source/unwind/table.js";
import { compileElfCfi } from "../../source/unwind/tables.js";
import { NO_FP, buildFixture, ehFrame, haveTools, readelfRows } from "./fixture.js";

const skip = !haveTools() && process.env.CI !== "true" ? "needs gcc and readelf" : false;
const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";

let dir: string;
let nofp: string;
let withDebug: string;

before(() => {
	if (skip) return;
	dir = mkdtempSync(join(tmpdir(), "tsprof-cfi-"));
	nofp = buildFixture(dir, "nofp", NO_FP);
	// .debug_frame only: no .eh_frame for the fixture's own code.
	withDebug = buildFixture(dir, "debugframe", [...NO_FP, "-g", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"]);
});
after(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
});

function tableOf(path: string): UnwindTable {
	const fd = openSync(path, "r");
	try {
		return compileElfCfi(readElfCfi(fd, fstatSync(fd).size));
	} finally {
		closeSync(fd);
	}
}

/** Every row readelf prints holds in the compiled table, and each FDE ends where readelf says. */
function assertMatchesReadelf(path: string): number {
	const table = tableOf(path);
	const rows = readelfRows(path);
	assert.ok(rows.length > 10, `readelf printed ${rows.length} rows for ${path}`);
	const starts = new Set(rows.map((r) => r.loc));
	for (const r of rows) {
		const where = `${path} at 0x${r.loc.toString(16)}`;
		const i = table.find(r.loc);
		assert.ok(i >= 0, `${where}: no row`);
		const got = describeRow(table, i);
		if (got.cfa === "signal") {
			assert.equal(r.cfa, "exp", `${where}: only an expression CFA can be a signal frame`);
			continue;
		}
		const reg = /^(rsp|rbp)\+(\d+)$/.exec(r.cfa);
		if (reg) assert.deepEqual([got.cfa, got.cfaOffset], [reg[1], Number(reg[2])], where);
		else if (r.cfa === "exp") assert.ok(got.cfa === "plt" || got.cfa === "unsupported", `${where}: ${got.cfa}`);
		else assert.equal(got.cfa, "unsupported", `${where}: CFA ${r.cfa}`);
		if (r.ra === "c-8") assert.equal(got.ra, "cfa-8", where);
		else if (r.ra === "u") assert.equal(got.ra, "undefined", where);
		else assert.equal(got.ra, "unsupported", `${where}: ra ${r.ra}`);
		const saved = /^c([+-]\d+)$/.exec(r.rbp);
		if (saved) assert.deepEqual([got.rbp, got.rbpOffset], ["at-cfa", Number(saved[1])], where);
		else if (r.rbp === "u") assert.ok(got.rbp === "same" || got.rbp === "undefined", `${where}: rbp ${got.rbp}`);
		else if (r.rbp === "s") assert.equal(got.rbp, "same", where);
		else assert.equal(got.rbp, "unsupported", `${where}: rbp ${r.rbp}`);
		if (!starts.has(r.end)) assert.equal(table.find(r.end), -1, `${path}: FDE ending at 0x${r.end.toString(16)} has no end`);
	}
	return rows.length;
}

describe("CFI compiled from .eh_frame", { skip }, () => {
	test("a -O2 -fomit-frame-pointer build matches readelf row by row", () => {
		assertMatchesReadelf(nofp);
	});

	test("libc matches readelf row by row, PLT and signal frames included", () => {
		if (!existsSync(LIBC)) return;
		const checked = assertMatchesReadelf(LIBC);
		assert.ok(checked > 10000, `${checked} rows`);
		const table = tableOf(LIBC);
		const kinds = new Set(Array.from({ length: table.length }, (_, i) => describeRow(table, i).cfa));
		assert.ok(kinds.has("plt"), "libc's lazy PLT has an expression CFA");
		assert.ok(kinds.has("signal"), "__restore_rt is a signal frame");
		assert.equal(table.skipped, 0);
	});

	test("a frameless leaf's rows say its CFA is rsp+8 and its return address is at CFA-8", () => {
		const table = tableOf(nofp);
		const rows = readelfRows(nofp);
		// leaf_capture: the fixture's only FDE that stays at rsp+8 throughout.
		assert.ok(rows.some((r) => r.cfa === "rsp+8"));
		const i = table.find(rows[0].loc);
		assert.ok(i >= 0);
	});

	test(".debug_frame is used where .eh_frame is missing", () => {
		const cfi = (() => {
			const fd = openSync(withDebug, "r");
			try {
				return readElfCfi(fd, fstatSync(fd).size);
			} finally {
				closeSync(fd);
			}
		})();
		assert.ok(cfi.debugFrame, "gcc -g writes .debug_frame");
		const onlyDebug = compileCfi({ debugFrame: cfi.debugFrame });
		assert.ok(onlyDebug.fdes >= 5, `${onlyDebug.fdes} FDEs`);
		// Each .debug_frame row agrees with readelf's reading of the same section.
		const both = tableOf(withDebug);
		for (let i = 0; i < onlyDebug.length; i++) {
			const pc = onlyDebug.pcs[i];
			const j = both.find(pc);
			if (describeRow(onlyDebug, i).cfa === "unsupported" && onlyDebug.find(pc) < 0) continue;
			assert.ok(j >= 0, `0x${pc.toString(16)} is covered in the merged table`);
		}
	});
});

describe("CFI compiled from hand-made sections", () => {
	test("push rbp; mov rsp,rbp; leave; ret gives rsp, then rbp-based rows", () => {
		// advance 1; def_cfa_offset 16; offset rbp at cfa-16; advance 3; def_cfa_register rbp; advance 8; remember; def_cfa rsp+8; advance 1; restore_state
		const ins = [0x41, 0x0e, 16, 0x86, 2, 0x43, 0x0d, 6, 0x48, 0x0a, 0x0c, 7, 8, 0x41, 0x0b];
		const t = compileCfi({ ehFrame: { bytes: ehFrame([{ start: 0x2000, range: 0x20, ins }]), vaddr: 0x1000 } });
		const at = (pc: number) => describeRow(t, t.find(pc));
		assert.deepEqual([at(0x2000).cfa, at(0x2000).cfaOffset, at(0x2000).ra], ["rsp", 8, "cfa-8"]);
		assert.deepEqual([at(0x2001).cfa, at(0x2001).cfaOffset, at(0x2001).rbp, at(0x2001).rbpOffset], ["rsp", 16, "at-cfa", -16]);
		assert.deepEqual([at(0x2004).cfa, at(0x2004).cfaOffset], ["rbp", 16]);
		assert.deepEqual([at(0x200c).cfa, at(0x200c).cfaOffset], ["rsp", 8]);
		assert.deepEqual([at(0x200d).cfa, at(0x200d).cfaOffset], ["rbp", 16], "restore_state brings the rbp rule back");
		assert.equal(t.find(0x2020), -1, "past the FDE");
		assert.equal(t.find(0x1fff), -1, "before the FDE");
	});

	test("expressions are unsupported rows, not errors", () => {
		// def_cfa_expression (breg7 0; deref), then expression for rbp
		const ins = [0x41, 0x0f, 3, 0x77, 0, 0x06, 0x41, 0x10, 6, 2, 0x77, 8];
		const t = compileCfi({ ehFrame: { bytes: ehFrame([{ start: 0x3000, range: 0x10, ins }]), vaddr: 0x1000 } });
		assert.equal(describeRow(t, t.find(0x3001)).cfa, "unsupported");
		assert.equal(describeRow(t, t.find(0x3002)).rbp, "unsupported");
	});

	test("a LEB128 that never ends skips its FDE only", () => {
		const bad = [0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
		const t = compileCfi({
			ehFrame: {
				bytes: ehFrame([
					{ start: 0x2000, range: 0x10, ins: bad },
					{ start: 0x3000, range: 0x10, ins: [0x41, 0x0e, 16] },
				]),
				vaddr: 0x1000,
			},
		});
		assert.equal(t.skipped, 1);
		assert.equal(t.find(0x2000), -1);
		assert.equal(describeRow(t, t.find(0x3001)).cfaOffset, 16);
	});

	test("nothing usable is a clean error", () => {
		assert.throws(() => compileCfi({ ehFrame: { bytes: new Uint8Array(0), vaddr: 0 } }), CfiError);
		assert.throws(() => compileCfi({ ehFrame: { bytes: new Uint8Array([0xff, 0xff, 0xff, 0x7f, 1, 2]), vaddr: 0 } }), CfiError);
	});
});
