import assert from "node:assert/strict";
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { Image } from "../../source/process/image.js";
import { ElfError, readElfCfi } from "../../source/symbols/elf-reader.js";
import { CfiError, compileCfi } from "../../source/unwind/cfi.js";
import { UnwindTable, type UnwindRows } from "../../source/unwind/table.js";
import { compileElfCfi, tableOfCfi } from "../../source/unwind/tables.js";
import { Unwinder } from "../../source/unwind/unwinder.js";
import { NO_FP, buildFixture, haveTools } from "./fixture.js";
import { prng } from "../helpers/prng.js";

const skip = !haveTools() && process.env.CI !== "true" ? "needs gcc and readelf" : false;
// Fixed so that a failure names a case that can be replayed.
const SEED = 0xcf1_0001;
const SECTION_CASES = 3000;
const FILE_CASES = 1000;
// Per case. The fixture's sections compile in well under a millisecond, and a
// 16 KiB window of libc's in a few; the slack is for a machine shared with
// builds. A loop or a quadratic walk over 16 KiB would still take seconds.
const CASE_BUDGET_MS = 500;
const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";


let dir: string;
let elf: Buffer;
let ehFrame: { bytes: Buffer; vaddr: number; offset: number };
let ehFrameHdr: { offset: number; size: number };
let libcWindowSource: { bytes: Buffer; vaddr: number } | undefined;

/** Offset, address and size of the named section, from the section headers. */
function section(file: Buffer, name: string): { offset: number; vaddr: number; size: number } {
	const shoff = Number(file.readBigUInt64LE(40));
	const shnum = file.readUInt16LE(60);
	const shstr = shoff + file.readUInt16LE(62) * 64;
	const namesAt = Number(file.readBigUInt64LE(shstr + 24));
	for (let i = 0; i < shnum; i++) {
		const at = shoff + i * 64;
		const n = namesAt + file.readUInt32LE(at);
		if (file.toString("latin1", n, file.indexOf(0, n)) === name) {
			return { vaddr: Number(file.readBigUInt64LE(at + 16)), offset: Number(file.readBigUInt64LE(at + 24)), size: Number(file.readBigUInt64LE(at + 32)) };
		}
	}
	throw new Error(`no ${name}`);
}

before(() => {
	if (skip) return;
	dir = mkdtempSync(join(tmpdir(), "tsprof-cfi-fuzz-"));
	elf = readFileSync(buildFixture(dir, "nofp", NO_FP));
	const eh = section(elf, ".eh_frame");
	ehFrame = { bytes: elf.subarray(eh.offset, eh.offset + eh.size), vaddr: eh.vaddr, offset: eh.offset };
	const hdr = section(elf, ".eh_frame_hdr");
	ehFrameHdr = { offset: hdr.offset, size: hdr.size };
	try {
		const libc = readFileSync(LIBC);
		const s = section(libc, ".eh_frame");
		libcWindowSource = { bytes: libc.subarray(s.offset, s.offset + s.size), vaddr: s.vaddr };
	} catch {
		libcWindowSource = undefined;
	}
});
after(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One corruption of `bytes` in place: flips, hostile bytes, splices, random lengths. */
function corrupt(bytes: Uint8Array, rand: () => number): string {
	const pick = () => Math.floor(rand() * bytes.length);
	const kind = Math.floor(rand() * 6);
	switch (kind) {
		case 0: {
			const n = 1 + Math.floor(rand() * 8);
			for (let i = 0; i < n; i++) bytes[pick()] ^= 1 << Math.floor(rand() * 8);
			return `flip ${n}`;
		}
		case 1: {
			// Continuation bits: LEB128 numbers that run on.
			const at = pick();
			const n = 1 + Math.floor(rand() * 16);
			for (let i = at; i < Math.min(bytes.length, at + n); i++) bytes[i] = 0x80 | (bytes[i] & 0x7f);
			return `leb ${at}+${n}`;
		}
		case 2: {
			const from = pick();
			const to = pick();
			const n = Math.floor(rand() * 64);
			bytes.copyWithin(to, from, Math.min(bytes.length, from + n));
			return `splice ${from}->${to}+${n}`;
		}
		case 3: {
			// A random length or CIE pointer where one may be.
			const at = pick() & ~3;
			const values = [0, 0xffff_ffff, 0x7fff_ffff, Math.floor(rand() * 0x1_0000_0000), Math.floor(rand() * 64)];
			const v = values[Math.floor(rand() * values.length)];
			if (at + 4 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(at, v, true);
			return `u32 ${at}=${v}`;
		}
		case 4: {
			const at = pick();
			bytes[at] = [0x00, 0xff, 0x0f, 0x10, 0x0a, 0x0b, 0x01, 0x04, 0x2e, 0x16][Math.floor(rand() * 10)];
			return `op ${at}`;
		}
		default: {
			const n = 1 + Math.floor(rand() * 32);
			for (let i = 0; i < n; i++) bytes[pick()] = Math.floor(rand() * 256);
			return `random ${n}`;
		}
	}
}

/** A table must be sorted and its offsets plain numbers; anything else is a bug. */
function assertSane(t: UnwindTable): void {
	for (let i = 1; i < t.length; i++) assert.ok(t.pcs[i] >= t.pcs[i - 1], "rows sorted");
	assert.ok(t.byteSize < 64 * 1024 * 1024);
}

/** Runs `f`; it must return a table or throw one of the clean errors, within the budget. */
function bounded(what: string, f: () => UnwindTable): UnwindTable | undefined {
	const t0 = performance.now();
	let table: UnwindTable | undefined;
	try {
		table = f();
	} catch (error) {
		if (!(error instanceof CfiError) && !(error instanceof ElfError)) throw new Error(`${what}: ${(error as Error).stack}`);
	}
	const ms = performance.now() - t0;
	assert.ok(ms < CASE_BUDGET_MS, `${what}: ${ms.toFixed(1)} ms`);
	if (table) assertSane(table);
	return table;
}

describe("fuzzing the CFI compiler", { skip }, () => {
	test(`${SECTION_CASES} corrupted .eh_frame sections each compile or fail cleanly, in bounded time`, () => {
		const rand = prng(SEED);
		let tables = 0;
		const u = new Unwinder({ tables: { get: () => ({ error: "unused" }), stats: () => ({ files: 0, bytes: 0, hits: 0, misses: 0, errors: 0 }) } });
		for (let i = 0; i < SECTION_CASES; i++) {
			// Every fourth case: a window of libc's .eh_frame, cut at a random place (a truncation).
			let source = { bytes: ehFrame.bytes as Uint8Array, vaddr: ehFrame.vaddr };
			if (libcWindowSource && i % 4 === 3) {
				const from = Math.floor(rand() * (libcWindowSource.bytes.length - 16384));
				source = { bytes: libcWindowSource.bytes.subarray(from, from + Math.floor(rand() * 16384)), vaddr: libcWindowSource.vaddr + from };
			}
			const bytes = Uint8Array.from(source.bytes);
			const what = [`case ${i}`];
			const rounds = 1 + Math.floor(rand() * 3);
			for (let r = 0; r < rounds; r++) what.push(corrupt(bytes, rand));
			if (rand() < 0.2) {
				const cut = Math.floor(rand() * bytes.length);
				what.push(`truncate ${cut}`);
				const t = bounded(what.join(", "), () => compileCfi({ ehFrame: { bytes: bytes.subarray(0, cut), vaddr: source.vaddr } }));
				if (t) tables++;
				continue;
			}
			const asDebug = rand() < 0.15;
			const t = bounded(what.join(", "), () => compileCfi(asDebug ? { debugFrame: { bytes, vaddr: 0 } } : { ehFrame: { bytes, vaddr: source.vaddr } }));
			if (!t) continue;
			tables++;
			// A hostile table never makes the unwinder throw or loop, whatever the stack holds.
			const stack = new Uint8Array(512);
			for (let j = 0; j < stack.length; j++) stack[j] = Math.floor(rand() * 256);
			const image = new Image();
			image.add({ start: 0x1000n, end: 0x100000n, pgoff: 0n, path: "/fuzz" });
			const fuzzed = new Unwinder({
				tables: { get: () => ({ table: t, loads: [{ offset: 0, vaddr: 0, filesz: 0x100000, memsz: 0x100000, executable: true }] }), stats: () => u.stats().tables },
			});
			const pc = BigInt(t.length > 0 ? Math.floor(t.pcs[Math.floor(rand() * t.length)]) : 0x1000);
			const r = fuzzed.unwindCopy(1, image, { ip: pc, sp: 0x7000_0000n, bp: 0x7000_0040n }, { start: 0x7000_0000n, bytes: stack });
			assert.ok(r.pcs.length >= 1 && r.pcs.length <= 127);
		}
		// Most corruptions leave most of a section usable: the parser skips what it cannot use.
		assert.ok(tables > SECTION_CASES / 3, `${tables} tables`);
	});

	test(`${FILE_CASES} ELF files with corrupted .eh_frame_hdr and .eh_frame, with and without section headers, looked up as the unwinder does`, () => {
		const rand = prng(SEED ^ 0x5a5a);
		const path = join(dir, "case.elf");
		let tables = 0;
		for (let i = 0; i < FILE_CASES; i++) {
			const file = Buffer.from(elf);
			const what = [`file case ${i}`];
			const target = rand() < 0.5 ? { offset: ehFrameHdr.offset, size: ehFrameHdr.size } : { offset: ehFrame.offset, size: ehFrame.bytes.length };
			what.push(target.offset === ehFrameHdr.offset ? "hdr" : "eh_frame");
			what.push(corrupt(file.subarray(target.offset, target.offset + target.size), rand));
			if (rand() < 0.5) {
				// No section headers: .eh_frame is found through PT_GNU_EH_FRAME.
				file.writeBigUInt64LE(0n, 40);
				file.writeUInt16LE(0, 60);
				file.writeUInt16LE(0, 62);
				what.push("no section headers");
			}
			writeFileSync(path, file);
			const fd = openSync(path, "r");
			try {
				// The table the unwinder gets (lazy through the header when it can be used),
				// then lookups all over the text, which is when a lazy table parses FDEs.
				const t0 = performance.now();
				let t: UnwindRows | undefined;
				try {
					t = tableOfCfi(readElfCfi(fd, fstatSync(fd).size));
				} catch (error) {
					if (!(error instanceof CfiError) && !(error instanceof ElfError)) throw new Error(`${what.join(", ")}: ${(error as Error).stack}`);
				}
				if (t) {
					tables++;
					if (t instanceof UnwindTable) assertSane(t);
					for (let k = 0; k < 400; k++) {
						const row = t.find(0x1000 + Math.floor(rand() * 0x2000));
						assert.ok(row >= -1 && row < t.kinds.length, `${what.join(", ")}: row ${row}`);
						if (row >= 0) assert.ok(Number.isInteger(t.cfaOffsets[row]) && Number.isInteger(t.rbpOffsets[row]));
					}
				}
				const ms = performance.now() - t0;
				assert.ok(ms < CASE_BUDGET_MS, `${what.join(", ")}: ${ms.toFixed(1)} ms`);
			} finally {
				closeSync(fd);
			}
		}
		assert.ok(tables > FILE_CASES / 3, `${tables} tables`);
	});

	test("without section headers, .eh_frame is found through PT_GNU_EH_FRAME", () => {
		const file = Buffer.from(elf);
		file.writeBigUInt64LE(0n, 40);
		file.writeUInt16LE(0, 60);
		file.writeUInt16LE(0, 62);
		const path = join(dir, "noshdr.elf");
		writeFileSync(path, file);
		const fd = openSync(path, "r");
		try {
			const cfi = readElfCfi(fd, fstatSync(fd).size);
			assert.equal(cfi.ehFrame?.vaddr, ehFrame.vaddr);
			const stripped = compileElfCfi(cfi);
			const full = compileCfi({ ehFrame });
			assert.deepEqual(Array.from(stripped.pcs), Array.from(full.pcs));
		} finally {
			closeSync(fd);
		}
	});
});
