import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { after, before, describe, mock, test } from "node:test";
import { ElfError, readElf } from "../../source/symbols/elf-reader.js";
import { prng } from "../helpers/prng.js";

// Fixed so that a failure names a case that can be replayed.
const SEED = 0x7e5f_0001;
const CASES = 4000;
// Per call. A fixture of ~16 KiB parses in well under a millisecond; the
// bound is there to catch a loop that never ends or an allocation that
// runs away, not to time the parser, so a GC pause on a busy machine
// (70 ms seen in CI-like load) must not trip it.
const CASE_BUDGET_MS = 1000;

const FIXTURE_C = `
int counter;
__attribute__((noinline)) int alpha(int x) { return x * 3 + counter; }
__attribute__((noinline)) int beta(int x) { return alpha(x) ^ 0x55; }
static __attribute__((noinline)) int gamma_static(int x) { return beta(x) + 7; }
int main(int argc, char **argv) { (void)argv; return gamma_static(argc) & 1; }
`;

function haveGcc(): boolean {
	try {
		execFileSync("sh", ["-c", "command -v gcc"], { stdio: "ignore" });
		return true;
	} catch {
		return false;
	}
}

const skip = !haveGcc() && process.env.CI !== "true" ? "needs gcc" : false;


interface Layout {
	readonly phoff: number;
	readonly phnum: number;
	readonly shoff: number;
	readonly shnum: number;
	/** Sections by type: offset, size. */
	readonly sections: readonly { type: number; offset: number; size: number }[];
}

function layoutOf(elf: Buffer): Layout {
	const shoff = Number(elf.readBigUInt64LE(40));
	const shnum = elf.readUInt16LE(60);
	const sections = [];
	for (let i = 0; i < shnum; i++) {
		const at = shoff + i * 64;
		sections.push({
			type: elf.readUInt32LE(at + 4),
			offset: Number(elf.readBigUInt64LE(at + 24)),
			size: Number(elf.readBigUInt64LE(at + 32)),
		});
	}
	return { phoff: Number(elf.readBigUInt64LE(32)), phnum: elf.readUInt16LE(56), shoff, shnum, sections };
}

const HOSTILE_U64 = [
	0n,
	1n,
	23n,
	24n,
	0xffff_ffffn,
	0xffff_ffff_ffffn,
	0xffff_ffff_ffff_ffffn,
	1n << 53n,
	(1n << 53n) - 1n,
	0x7fff_ffffn,
	0x8000_0000_0000_0000n,
];

class Mutator {
	readonly #random: () => number;
	constructor(random: () => number) {
		this.#random = random;
	}

	int(below: number): number {
		return Math.floor(this.#random() * below);
	}

	pick<T>(values: readonly T[]): T {
		return values[this.int(values.length)];
	}

	u64(fileLength: number): bigint {
		switch (this.int(4)) {
			case 0:
				return this.pick(HOSTILE_U64);
			case 1:
				return BigInt(fileLength + this.int(3) - 1);
			case 2:
				return BigInt(this.int(fileLength));
			default:
				return (BigInt(this.int(0x1_0000_0000)) << 32n) | BigInt(this.int(0x1_0000_0000));
		}
	}

	flipBits(buf: Buffer, start: number, length: number, flips: number): void {
		if (length <= 0) return;
		for (let i = 0; i < flips; i++) {
			const at = start + this.int(length);
			if (at < buf.length) buf[at] ^= 1 << this.int(8);
		}
	}
}

function writeU64(buf: Buffer, at: number, value: bigint): void {
	if (at >= 0 && at + 8 <= buf.length) buf.writeBigUInt64LE(value & 0xffff_ffff_ffff_ffffn, at);
}

function writeU32(buf: Buffer, at: number, value: number): void {
	if (at >= 0 && at + 4 <= buf.length) buf.writeUInt32LE(value >>> 0, at);
}

function writeU16(buf: Buffer, at: number, value: number): void {
	if (at >= 0 && at + 2 <= buf.length) buf.writeUInt16LE(value & 0xffff, at);
}

// Mutation kinds 0..KINDS-2, and KINDS-1 for several at once.
const KINDS = 17;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;

/** Applies one named mutation; returns the bytes to write (possibly shorter). */
function mutate(m: Mutator, original: Buffer, layout: Layout, kind: number): Buffer {
	const buf = Buffer.from(original);
	const len = buf.length;
	const sectionAt = (i: number) => layout.shoff + i * 64;
	const ofType = (type: number) => layout.sections.filter((s) => s.type === type);
	switch (kind) {
		case 0: // truncated at a random length
			return buf.subarray(0, m.int(len));
		case 1: // bit flips in the ELF header
			m.flipBits(buf, 0, 64, 1 + m.int(4));
			return buf;
		case 2: // bit flips in the program header table
			m.flipBits(buf, layout.phoff, layout.phnum * 56, 1 + m.int(6));
			return buf;
		case 3: // bit flips in the section header table
			m.flipBits(buf, layout.shoff, layout.shnum * 64, 1 + m.int(8));
			return buf;
		case 4: // bit flips anywhere
			m.flipBits(buf, 0, len, 1 + m.int(32));
			return buf;
		case 5: {
			// a bogus 64-bit field in a section header
			const at = sectionAt(m.int(layout.shnum)) + m.pick([8, 16, 24, 32, 48, 56]);
			writeU64(buf, at, m.u64(len));
			return buf;
		}
		case 6: {
			// bogus sh_link / sh_info / sh_type
			const at = sectionAt(m.int(layout.shnum));
			const field = m.pick([4, 40, 44]);
			const value = m.pick([0, 1, layout.shnum - 1, layout.shnum, 0xffff, 0xffff_ffff, SHT_SYMTAB, SHT_DYNSYM, SHT_NOTE]);
			writeU32(buf, at + field, field === 4 && m.int(2) === 0 ? m.pick([SHT_SYMTAB, SHT_DYNSYM, SHT_NOTE, SHT_STRTAB]) : value);
			return buf;
		}
		case 7: {
			// ELF header counts and entry sizes
			const field = m.pick([54, 56, 58, 60, 62]);
			writeU16(buf, field, m.pick([0, 1, 55, 57, 63, 65, 0x7fff, 0xfffe, 0xffff, m.int(0x10000)]));
			return buf;
		}
		case 8: // ELF header table offsets
			writeU64(buf, m.pick([32, 40]), m.u64(len));
			return buf;
		case 9: {
			// extended numbering with a bogus count in section 0
			if (m.int(2) === 0) {
				writeU16(buf, 60, 0);
				writeU64(buf, sectionAt(0) + 32, m.u64(len));
			} else {
				writeU16(buf, 56, 0xffff);
				writeU32(buf, sectionAt(0) + 44, m.pick([0, 1, 0xffff, 0x1_0000, 0xffff_ffff, m.int(0x1_0000_0000)]));
			}
			return buf;
		}
		case 10: {
			// symbol entries: names, values, sizes, section indexes, types
			const tables = [...ofType(SHT_SYMTAB), ...ofType(SHT_DYNSYM)];
			const table = m.pick(tables);
			const count = Math.floor(table.size / 24);
			for (let n = 1 + m.int(8); n > 0; n--) {
				const at = table.offset + m.int(count) * 24;
				switch (m.int(5)) {
					case 0:
						writeU32(buf, at, m.pick([0xffff_ffff, len, m.int(0x1_0000_0000), m.int(64)]));
						break;
					case 1:
						writeU64(buf, at + 8, m.u64(len));
						break;
					case 2:
						writeU64(buf, at + 16, m.u64(len));
						break;
					case 3:
						writeU16(buf, at + 6, m.pick([0, 0xfff1, 0xffff, 0xff00, m.int(0x10000)]));
						break;
					default:
						buf[at + 4] = m.pick([0x12, 0x1a, 0x02, 0x22, m.int(256)]);
				}
			}
			return buf;
		}
		case 11: {
			// a string table with no NUL at all
			const strtab = m.pick(ofType(SHT_STRTAB));
			buf.fill(0x41, strtab.offset, strtab.offset + strtab.size);
			return buf;
		}
		case 12: {
			// note headers with hostile sizes
			const note = m.pick(ofType(SHT_NOTE));
			writeU32(buf, note.offset + m.pick([0, 4]), m.pick([0xffff_ffff, 0xffff_fff0, 3, 4, 5, 20, 64, 65, m.int(0x1_0000_0000)]));
			return buf;
		}
		case 13: {
			// a symbol table stretched over the whole file, strings too
			const at = sectionAt(layout.sections.findIndex((s) => s.type === SHT_SYMTAB));
			writeU64(buf, at + 24, 0n);
			writeU64(buf, at + 32, BigInt(len - (len % 24)));
			return buf;
		}
		case 14: {
			// a small nudge to the offset, size or entry size of a table that gets read,
			// where off-by-one errors live
			const wanted = m.pick([SHT_SYMTAB, SHT_DYNSYM, SHT_STRTAB, SHT_NOTE]);
			const index = layout.sections.findIndex((s) => s.type === wanted);
			const at = sectionAt(index) + m.pick([24, 32, 32, 56]);
			const old = buf.readBigUInt64LE(at);
			writeU64(buf, at, old + BigInt(m.int(129) - 64));
			return buf;
		}
		case 15: {
			// a small nudge to a program header's offset or sizes
			const at = layout.phoff + m.int(layout.phnum) * 56 + m.pick([8, 16, 32, 40, 48]);
			const old = buf.readBigUInt64LE(at);
			writeU64(buf, at, old + BigInt(m.int(129) - 64));
			return buf;
		}
		default: {
			// several of the above at once
			let out: Buffer = buf;
			for (let n = 2 + m.int(3); n > 0; n--) {
				const next = mutate(m, out, layout, 1 + m.int(KINDS - 2));
				out = next.length === len ? next : out;
			}
			return out;
		}
	}
}

describe("readElf on corrupted ELF files", { skip }, () => {
	let dir = "";
	const originals: Buffer[] = [];

	before(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsprof-elf-fuzz-"));
		const src = path.join(dir, "fixture.c");
		fs.writeFileSync(src, FIXTURE_C);
		for (const [name, flags] of [
			["pie", ["-fPIE", "-pie", "-Wl,--build-id=sha1"]],
			["nopie", ["-fno-PIE", "-no-pie"]],
		] as const) {
			const out = path.join(dir, name);
			execFileSync("gcc", ["-O0", ...flags, "-o", out, src]);
			originals.push(fs.readFileSync(out));
		}
	});

	after(() => {
		if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
	});

	test(`${CASES} corrupted copies each return or throw ElfError within ${CASE_BUDGET_MS} ms`, (t) => {
		const m = new Mutator(prng(SEED));
		const target = path.join(dir, "case.elf");
		const layouts = originals.map(layoutOf);
		const failures: string[] = [];
		const outcomes = new Map<string, number>();
		let slowest = 0;
		// Every buffer readElf allocates must be bounded by the size it was told.
		let allocLimit = Number.POSITIVE_INFINITY;
		let largestAlloc = 0;
		const alloc = Buffer.alloc.bind(Buffer);
		const spy = mock.method(Buffer, "alloc", (size: number, ...rest: [never?, never?]) => {
			if (size > allocLimit) largestAlloc = Math.max(largestAlloc, size);
			return alloc(size, ...rest);
		});
		t.after(() => spy.mock.restore());
		for (let i = 0; i < CASES; i++) {
			const which = i % originals.length;
			const kind = m.int(KINDS);
			const bytes = mutate(m, originals[which], layouts[which], kind);
			fs.writeFileSync(target, bytes);
			// Sometimes claim a size other than the real one, as a file changing under us would.
			const claimed = m.int(10) === 0 ? bytes.length + m.int(4096) : bytes.length;
			const fd = fs.openSync(target, "r");
			let outcome = "ok";
			const t0 = performance.now();
			largestAlloc = 0;
			allocLimit = claimed;
			try {
				const image = readElf(fd, claimed);
				assert.ok(image.symbols.size <= claimed / 24, "no more symbols than the file can hold");
			} catch (error) {
				if (error instanceof ElfError) outcome = error.code;
				else failures.push(`case ${i} (kind ${kind}): ${(error as Error)?.stack ?? String(error)}`);
			} finally {
				allocLimit = Number.POSITIVE_INFINITY;
				fs.closeSync(fd);
			}
			const elapsed = performance.now() - t0;
			if (largestAlloc > 0) failures.push(`case ${i} (kind ${kind}) allocated ${largestAlloc} bytes for a ${claimed}-byte file`);
			slowest = Math.max(slowest, elapsed);
			if (elapsed > CASE_BUDGET_MS) failures.push(`case ${i} (kind ${kind}) took ${elapsed.toFixed(1)} ms`);
			outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
		}
		assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failures`);
		// The mutations must exercise both paths, or the test proves little.
		assert.ok((outcomes.get("ok") ?? 0) > CASES / 10, `outcomes: ${JSON.stringify([...outcomes])}`);
		assert.ok(CASES - (outcomes.get("ok") ?? 0) > CASES / 10, `outcomes: ${JSON.stringify([...outcomes])}`);
		t.diagnostic(`slowest ${slowest.toFixed(2)} ms; outcomes ${JSON.stringify([...outcomes])}`);
	});

	test("the unmodified fixtures parse", () => {
		for (const original of originals) {
			const target = path.join(dir, "plain.elf");
			fs.writeFileSync(target, original);
			const fd = fs.openSync(target, "r");
			try {
				const image = readElf(fd, original.length);
				assert.ok(image.symbols.lookup(image.symbols[Symbol.iterator]().next().value?.start ?? -1));
			} finally {
				fs.closeSync(fd);
			}
		}
	});
});
