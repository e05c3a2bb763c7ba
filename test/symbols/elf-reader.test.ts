import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, mock, test } from "node:test";
import { ElfError, type ElfImage, fileOffsetToVaddr, readElf, readElfFile } from "../../source/symbols/elf-reader.js";

// zsize is defined in assembly without .size, so its symbol has size 0 and
// must reach up to the next symbol.
const FIXTURE_C = `
int counter;
__attribute__((noinline)) int alpha(int x) { return x * 3 + counter; }
__attribute__((noinline)) int beta(int x) { return alpha(x) ^ 0x55; }
static __attribute__((noinline)) int gamma_static(int x) { return beta(x) + 7; }
__asm__(".text\\n.globl zsize\\n.type zsize, @function\\nzsize:\\n nop\\n nop\\n nop\\n ret\\n");
int zsize(void);
int main(int argc, char **argv) { (void)argv; return (gamma_static(argc) + zsize()) & 1; }
`;

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";

function haveTool(name: string): boolean {
	try {
		execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
		return true;
	} catch {
		return false;
	}
}

const toolsMissing = ["gcc", "nm", "readelf"].filter((tool) => !haveTool(tool));
// Locally a missing compiler skips; in CI it must fail.
const skip = toolsMissing.length > 0 && process.env.CI !== "true" ? `needs ${toolsMissing.join(", ")}` : false;

function run(cmd: string, args: string[]): string {
	return execFileSync(cmd, args, { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
}

interface ReadelfSymbol {
	readonly name: string;
	readonly value: number;
	readonly size: number;
}

/** Defined FUNC/IFUNC symbols from `readelf -sW` (both tables), version suffixes dropped. */
function readelfFunctions(file: string): ReadelfSymbol[] {
	const out: ReadelfSymbol[] = [];
	for (const line of run("readelf", ["-sW", file]).split("\n")) {
		const fields = line.trim().split(/\s+/);
		if (fields.length < 8 || !/^\d+:$/.test(fields[0])) continue;
		const [, value, size, type, , , ndx, name] = fields;
		if ((type !== "FUNC" && type !== "IFUNC") || ndx === "UND") continue;
		const address = Number.parseInt(value, 16);
		if (address === 0) continue;
		out.push({ name: name.replace(/@.*$/, ""), value: address, size: Number(size) });
	}
	return out;
}

/** `nm -n` (or `nm -D -n`) text symbols: name -> address. */
function nmText(file: string, dynamic = false): Map<string, number> {
	const map = new Map<string, number>();
	for (const line of run("nm", [...(dynamic ? ["-D"] : []), "-n", "--defined-only", file]).split("\n")) {
		const match = /^([0-9a-f]+) ([tTwWi]) (\S+)$/.exec(line);
		if (match !== null) map.set(match[3].replace(/@.*$/, ""), Number.parseInt(match[1], 16));
	}
	return map;
}

function readelfBuildId(file: string): string | undefined {
	return /Build ID: ([0-9a-f]+)/.exec(run("readelf", ["-n", file]))?.[1];
}

interface ReadelfLoad {
	readonly offset: number;
	readonly vaddr: number;
	readonly filesz: number;
	readonly memsz: number;
	readonly executable: boolean;
}

function readelfLoads(file: string): ReadelfLoad[] {
	const loads: ReadelfLoad[] = [];
	for (const line of run("readelf", ["-lW", file]).split("\n")) {
		const fields = line.trim().split(/\s+/);
		if (fields[0] !== "LOAD") continue;
		const flags = fields.slice(6, -1).join("");
		loads.push({
			offset: Number.parseInt(fields[1], 16),
			vaddr: Number.parseInt(fields[2], 16),
			filesz: Number.parseInt(fields[4], 16),
			memsz: Number.parseInt(fields[5], 16),
			executable: flags.includes("E"),
		});
	}
	return loads;
}

/** Every readelf function resolves at its address, to itself or an alias at that address. */
function assertMatchesReadelf(image: ElfImage, file: string): void {
	const functions = readelfFunctions(file);
	assert.ok(functions.length > 0, "readelf lists functions");
	const aliases = new Map<number, Set<string>>();
	for (const fn of functions) {
		let names = aliases.get(fn.value);
		if (names === undefined) {
			names = new Set();
			aliases.set(fn.value, names);
		}
		names.add(fn.name);
	}
	for (const fn of functions) {
		const hit = image.symbols.lookup(fn.value);
		assert.ok(hit, `${fn.name} at 0x${fn.value.toString(16)} resolves`);
		assert.equal(hit.offset, 0, `${fn.name} resolves at offset 0`);
		assert.ok(aliases.get(fn.value)?.has(hit.name), `${hit.name} is an alias of ${fn.name}`);
		if (fn.size > 1) assert.deepEqual(image.symbols.lookup(fn.value + fn.size - 1)?.name, hit.name);
	}
	assert.equal(image.symbols.size, aliases.size, "one symbol per distinct address");
}

function assertLoadsMatchReadelf(image: ElfImage, file: string): void {
	const expected = readelfLoads(file);
	assert.deepEqual(
		image.loads.map((l) => ({ ...l })),
		expected,
	);
	for (const load of expected) {
		for (const delta of [0, 1, Math.floor(load.filesz / 2), load.filesz - 1]) {
			if (delta < 0 || delta >= load.filesz) continue;
			assert.equal(fileOffsetToVaddr(image, load.offset + delta), load.vaddr + delta);
		}
	}
	const end = Math.max(...expected.map((l) => l.offset + l.memsz));
	assert.equal(fileOffsetToVaddr(image, end + 0x100000), undefined);
	assert.equal(fileOffsetToVaddr(image, -1), undefined);
}

describe("readElf on gcc fixtures", { skip }, () => {
	let dir = "";
	const bin = (name: string) => path.join(dir, name);

	before(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsprof-elf-"));
		fs.writeFileSync(bin("fixture.c"), FIXTURE_C);
		const src = bin("fixture.c");
		run("gcc", ["-O0", "-fPIE", "-pie", "-Wl,--build-id=sha1", "-o", bin("pie"), src]);
		run("gcc", ["-O0", "-fno-PIE", "-no-pie", "-Wl,--build-id=none", "-o", bin("nopie"), src]);
		run("gcc", ["-O0", "-rdynamic", "-s", "-o", bin("stripped"), src]);
		run("gcc", ["-O0", "-shared", "-fPIC", "-s", "-o", bin("libfixture.so"), src]);
	});

	after(() => {
		if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
	});

	test("PIE: type, build-id, functions and addresses", () => {
		const image = readElfFile(bin("pie"));
		assert.equal(image.type, "dyn");
		assert.equal(image.machine, 62);
		const buildId = readelfBuildId(bin("pie"));
		assert.match(buildId ?? "", /^[0-9a-f]{40}$/);
		assert.equal(image.buildId, buildId);
		const nm = nmText(bin("pie"));
		for (const name of ["alpha", "beta", "gamma_static", "main", "zsize"]) {
			const addr = nm.get(name);
			assert.ok(addr !== undefined, `nm lists ${name}`);
			assert.deepEqual(image.symbols.lookup(addr), { name, offset: 0 });
		}
		const alpha = nm.get("alpha") ?? 0;
		assert.deepEqual(image.symbols.lookup(alpha + 3), { name: "alpha", offset: 3 });
		assertMatchesReadelf(image, bin("pie"));
		assertLoadsMatchReadelf(image, bin("pie"));
		assert.equal(image.skippedSymbols, 0);
	});

	test("non-PIE: exec type, absolute addresses, no build-id", () => {
		const image = readElfFile(bin("nopie"));
		assert.equal(image.type, "exec");
		assert.equal(image.buildId, undefined);
		assert.equal(readelfBuildId(bin("nopie")), undefined);
		const nm = nmText(bin("nopie"));
		const main = nm.get("main");
		assert.ok(main !== undefined && main >= 0x400000);
		assert.deepEqual(image.symbols.lookup(main), { name: "main", offset: 0 });
		assertMatchesReadelf(image, bin("nopie"));
		assertLoadsMatchReadelf(image, bin("nopie"));
	});

	test("a size-0 function reaches up to the next symbol, and no further", () => {
		const image = readElfFile(bin("pie"));
		const zsize = readelfFunctions(bin("pie")).find((f) => f.name === "zsize");
		assert.equal(zsize?.size, 0);
		const entries = [...image.symbols];
		const index = entries.findIndex((e) => e.name === "zsize");
		assert.ok(index >= 0);
		const entry = entries[index];
		// 3 nops and a ret; gcc may pad before the next function.
		assert.ok(entry.end - entry.start >= 4, "covers its own code");
		if (index + 1 < entries.length) assert.ok(entry.end <= entries[index + 1].start, "stops at the next symbol");
		assert.deepEqual(image.symbols.lookup(entry.start + 3), { name: "zsize", offset: 3 });
	});

	test("stripped -rdynamic executable: exported functions from .dynsym only", () => {
		const image = readElfFile(bin("stripped"));
		const dynamic = nmText(bin("stripped"), true);
		for (const name of ["alpha", "beta", "main"]) {
			const addr = dynamic.get(name);
			assert.ok(addr !== undefined, `nm -D lists ${name}`);
			assert.deepEqual(image.symbols.lookup(addr), { name, offset: 0 });
		}
		const names = new Set([...image.symbols].map((s) => s.name));
		assert.ok(!names.has("gamma_static"), "static functions are gone with .symtab");
		assertMatchesReadelf(image, bin("stripped"));
		assertLoadsMatchReadelf(image, bin("stripped"));
	});

	test("stripped shared object", () => {
		const image = readElfFile(bin("libfixture.so"));
		assert.equal(image.type, "dyn");
		const dynamic = nmText(bin("libfixture.so"), true);
		const beta = dynamic.get("beta");
		assert.ok(beta !== undefined);
		assert.deepEqual(image.symbols.lookup(beta), { name: "beta", offset: 0 });
		assertMatchesReadelf(image, bin("libfixture.so"));
		assertLoadsMatchReadelf(image, bin("libfixture.so"));
	});

	test("readElf works on a caller's descriptor", () => {
		const fd = fs.openSync(bin("pie"), "r");
		try {
			const image = readElf(fd, fs.fstatSync(fd).size);
			assert.ok(image.symbols.size > 0);
		} finally {
			fs.closeSync(fd);
		}
	});

	test("rejections are ElfErrors with a code", () => {
		const expectCode = (fn: () => unknown, code: string) =>
			assert.throws(fn, (error: unknown) => error instanceof ElfError && error.code === code);
		const original = fs.readFileSync(bin("pie"));
		const write = (name: string, bytes: Uint8Array) => {
			fs.writeFileSync(bin(name), bytes);
			return bin(name);
		};
		expectCode(() => readElfFile(write("text", Buffer.from("#!/bin/sh\necho hi\n"))), "not-elf");
		expectCode(() => readElfFile(write("empty", Buffer.alloc(0))), "not-elf");
		expectCode(() => readElfFile(write("short", original.subarray(0, 40))), "truncated");
		const elf32 = Buffer.from(original);
		elf32[4] = 1;
		expectCode(() => readElfFile(write("elf32", elf32)), "unsupported");
		const bigEndian = Buffer.from(original);
		bigEndian[5] = 2;
		expectCode(() => readElfFile(write("be", bigEndian)), "unsupported");
		expectCode(() => readElfFile(dir), "not-elf");
		expectCode(() => readElfFile(bin("does-not-exist")), "io");
		// Cut inside the section header table (it sits at the end of the file).
		expectCode(() => readElfFile(write("cut", original.subarray(0, original.length - 10))), "truncated");
		// fileSize claims more than is on disk: the short read ends the read loop with an error.
		const fd = fs.openSync(bin("cut"), "r");
		try {
			expectCode(() => readElf(fd, original.length), "truncated");
		} finally {
			fs.closeSync(fd);
		}
	});

	test("names without a NUL inside the name cap are skipped and counted, not read past", () => {
		const elf = Buffer.from(fs.readFileSync(bin("pie")));
		const shoff = Number(elf.readBigUInt64LE(40));
		const section = (i: number) => ({
			type: elf.readUInt32LE(shoff + i * 64 + 4),
			offset: Number(elf.readBigUInt64LE(shoff + i * 64 + 24)),
			size: Number(elf.readBigUInt64LE(shoff + i * 64 + 32)),
			link: elf.readUInt32LE(shoff + i * 64 + 40),
		});
		const sections = Array.from({ length: elf.readUInt16LE(60) }, (_, i) => section(i));
		const symtab = sections.find((s) => s.type === 2);
		assert.ok(symtab !== undefined);
		const strtab = sections[symtab.link];
		// .strtab without a single NUL: every .symtab name runs off the table's end.
		elf.fill(0x41, strtab.offset, strtab.offset + strtab.size);
		fs.writeFileSync(bin("nonul"), elf);
		const image = readElfFile(bin("nonul"));
		// Defined functions in .symtab, as readelf lists them before the original was spoiled.
		let table = "";
		let functions = 0;
		for (const line of run("readelf", ["-sW", bin("pie")]).split("\n")) {
			table = /^Symbol table '([^']+)'/.exec(line)?.[1] ?? table;
			const fields = line.trim().split(/\s+/);
			if (table !== ".symtab" || fields.length < 8 || !/^\d+:$/.test(fields[0])) continue;
			const defined = fields[6] !== "UND" && Number.parseInt(fields[1], 16) !== 0;
			if ((fields[3] === "FUNC" || fields[3] === "IFUNC") && defined) functions++;
		}
		assert.ok(functions >= 5);
		assert.equal(image.skippedSymbols, functions);
		const main = nmText(bin("pie")).get("main");
		assert.ok(main !== undefined);
		assert.equal(image.symbols.lookup(main), undefined, "main is only in .symtab");
		// .dynsym has its own string table, untouched.
		for (const symbol of image.symbols) assert.doesNotMatch(symbol.name, /AAAA/);
	});

	test("a name longer than the 64 KiB cap is skipped; the names after it still resolve", () => {
		const long = `f${"x".repeat(70_000)}`;
		const src = bin("long.c");
		fs.writeFileSync(
			src,
			`int ${long}(int x) { return x + 1; }\n` +
				`int after_long(int x) { return ${long}(x) * 2; }\n` +
				"int main(void) { return after_long(1) & 1; }\n",
		);
		run("gcc", ["-O0", "-o", bin("long"), src]);
		const image = readElfFile(bin("long"));
		assert.equal(image.skippedSymbols, 1);
		const nm = nmText(bin("long"));
		for (const name of ["after_long", "main"]) {
			const addr = nm.get(name);
			assert.ok(addr !== undefined, `nm lists ${name}`);
			assert.deepEqual(image.symbols.lookup(addr), { name, offset: 0 });
		}
		const addr = nm.get(long);
		assert.ok(addr !== undefined);
		assert.notEqual(image.symbols.lookup(addr)?.name, long);
	});

	test("a FIFO at the path does not block", { skip: haveTool("mkfifo") ? false : "needs mkfifo" }, () => {
		run("mkfifo", [bin("fifo")]);
		assert.throws(
			() => readElfFile(bin("fifo")),
			(error: unknown) => error instanceof ElfError && error.code === "not-elf",
		);
	});
});

describe("readElf on the system libc", { skip: fs.existsSync(LIBC) && !skip ? false : "needs libc and binutils" }, () => {
	test("malloc resolves, with the preferred alias", () => {
		const image = readElfFile(LIBC);
		assert.equal(image.type, "dyn");
		assert.equal(image.buildId, readelfBuildId(LIBC));
		const malloc = readelfFunctions(LIBC).find((f) => f.name === "malloc");
		assert.ok(malloc !== undefined);
		// __libc_malloc shares the address; fewer leading underscores wins, as in perf.
		assert.deepEqual(image.symbols.lookup(malloc.value), { name: "malloc", offset: 0 });
		assert.deepEqual(image.symbols.lookup(malloc.value + 16), { name: "malloc", offset: 16 });
		assertMatchesReadelf(image, LIBC);
		assertLoadsMatchReadelf(image, LIBC);
	});

	test("reads only headers, notes and symbol tables, not the whole file", () => {
		const spy = mock.method(fs, "readSync");
		try {
			readElfFile(LIBC);
			const bytes = spy.mock.calls.reduce((sum, call) => sum + Number(call.result ?? 0), 0);
			const size = fs.statSync(LIBC).size;
			assert.ok(spy.mock.callCount() > 0, "reads through fs.readSync");
			assert.ok(bytes < size / 4, `read ${bytes} of ${size} bytes`);
		} finally {
			spy.mock.restore();
		}
	});
});
