import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Image } from "../../source/process/image.js";
import { readElfFile } from "../../source/symbols/elf-reader.js";
import { KernelSymbols } from "../../source/symbols/kallsyms.js";
import { Symbolizer } from "../../source/symbols/symbolizer.js";

const SOURCE = `
__attribute__((noinline)) static int local_hot(int x) { volatile int y = x; return y * 7; }
__attribute__((noinline)) int global_hot(int x) { volatile int y = x; return local_hot(y) + 1; }
int main(int c, char **v) { (void)v; return global_hot(c); }
`;

let dir = "";
let symbols: Record<string, bigint> = {};
let text = { offset: 0n, vaddr: 0n, size: 0n };
const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] }).toString();

before(() => {
	dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "tsprof-dbg-")));
	fs.writeFileSync(path.join(dir, "prog.c"), SOURCE);
	sh("gcc -O1 -g -no-pie -o full prog.c");
	for (const line of sh("nm full").split("\n")) {
		const [addr, , name] = line.split(" ");
		if (name) symbols[name] = BigInt(`0x${addr}`);
	}
	const load = sh("readelf -lW full").split("\n").find((l) => /^\s*LOAD/.test(l) && /R E/.test(l))?.trim().split(/\s+/);
	assert.ok(load);
	text = { offset: BigInt(load[1]), vaddr: BigInt(load[2]), size: BigInt(load[5]) };
	// A stripped binary with its debug file beside it, linked by name and CRC.
	sh("cp full linked && objcopy --only-keep-debug linked linked.debug && strip --strip-all linked && objcopy --add-gnu-debuglink=linked.debug linked");
	// The same, with its debug file in .debug/.
	sh("mkdir -p .debug && cp full linked2 && objcopy --only-keep-debug linked2 .debug/linked2.debug && strip --strip-all linked2 && objcopy --add-gnu-debuglink=.debug/linked2.debug linked2");
	// A stripped binary whose debug file was rebuilt since: the CRC no longer matches.
	sh("cp full stale && objcopy --only-keep-debug stale stale.debug && strip --strip-all stale && objcopy --add-gnu-debuglink=stale.debug stale && printf x >> stale.debug");
	// Stripped, no debug file.
	sh("cp full bare && strip --strip-all bare");
	// MiniDebugInfo as Fedora builds it: the functions .dynsym lacks, in an xz-compressed ELF.
	sh(
		[
			"cp full mini",
			"nm -D mini --format=posix --defined-only | awk '{print $1}' | sort > dynsyms",
			"nm mini --format=posix --defined-only | awk '$2 == \"T\" || $2 == \"t\" {print $1}' | sort > funcsyms",
			"comm -13 dynsyms funcsyms > keep",
			"objcopy --only-keep-debug mini mini.dbg",
			"objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep mini.dbg mini_debuginfo",
			"strip --strip-all -R .comment mini",
			"xz -f mini_debuginfo",
			"objcopy --add-section .gnu_debugdata=mini_debuginfo.xz mini",
		].join(" && "),
	);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function imageOf(file: string): Image {
	const image = new Image();
	const start = text.vaddr & ~0xfffn;
	image.add({ start, end: start + text.size + 0x1000n, pgoff: text.offset & ~0xfffn, path: path.join(dir, file) });
	return image;
}

const symbolizer = () => new Symbolizer({ loadKernelSymbols: () => new KernelSymbols(0n, []), debugRoot: path.join(dir, "no-debug-root") });
const names = (s: Symbolizer, file: string) => [
	s.userFrame(1, imageOf(file), symbols.local_hot + 2n, false),
	s.userFrame(1, imageOf(file), symbols.global_hot + 2n, false),
];

test("the fixtures are what they claim: stripped, with a debuglink or .gnu_debugdata", () => {
	for (const file of ["linked", "linked2", "stale", "bare", "mini"]) assert.equal(readElfFile(path.join(dir, file)).hasSymtab, false, file);
	assert.equal(readElfFile(path.join(dir, "full")).hasSymtab, true);
	assert.equal(readElfFile(path.join(dir, "linked")).debugLink?.file, "linked.debug");
	assert.equal(readElfFile(path.join(dir, "linked2")).debugLink?.file, "linked2.debug");
	assert.ok((readElfFile(path.join(dir, "mini")).debugData?.size ?? 0) > 0);
});

test(".gnu_debuglink: the debug file beside the binary, or in its .debug/, names local functions", () => {
	const s = symbolizer();
	assert.deepEqual(names(s, "linked").map((f) => f.name), ["local_hot", "global_hot"]);
	assert.deepEqual(names(s, "linked2").map((f) => f.name), ["local_hot", "global_hot"]);
});

test(".gnu_debuglink: a debug file whose CRC does not match is not used", () => {
	const [local] = names(symbolizer(), "stale");
	assert.equal(local.unknownReason, "stripped, no debug file");
	assert.match(local.name, /^\[unknown\] 0x[0-9a-f]+ \(stripped, no debug file\)$/);
});

test("a stripped binary with no debug file says so; a full one that misses says no symbols", () => {
	const s = symbolizer();
	assert.equal(names(s, "bare")[0].unknownReason, "stripped, no debug file");
	// Past the end of the last function of a binary with full symbols.
	const end = text.vaddr + text.size - 1n;
	const f = s.userFrame(1, imageOf("full"), end, false);
	if (f.unknownReason !== undefined) assert.equal(f.unknownReason, "no symbols");
});

test("MiniDebugInfo (.gnu_debugdata): local functions named from the xz-compressed symbol table", () => {
	const s = symbolizer();
	assert.deepEqual(names(s, "mini").map((f) => f.name), ["local_hot", "global_hot"]);
});
