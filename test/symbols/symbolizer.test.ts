import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Image } from "../../source/process/image.js";
import { Symbolizer } from "../../source/symbols/symbolizer.js";
import { KernelSymbols } from "../../source/symbols/kallsyms.js";

let dir: string;
const exes: Record<string, { path: string; sym: Record<string, bigint>; text: { offset: bigint; vaddr: bigint; size: bigint } }> = {};

function build(name: string, source: string) {
	const c = join(dir, `${name}.c`);
	const path = join(dir, name);
	execFileSync("sh", ["-c", `cat > ${c} <<'C'\n${source}\nC`]);
	execFileSync("gcc", ["-O1", "-fno-omit-frame-pointer", "-no-pie", "-o", path, c]);
	const sym: Record<string, bigint> = {};
	for (const line of execFileSync("nm", [path], { encoding: "utf8" }).split("\n")) {
		const [addr, , n] = line.split(" ");
		if (n) sym[n] = BigInt(`0x${addr}`);
	}
	const f = execFileSync("readelf", ["-lW", path], { encoding: "utf8" })
		.split("\n")
		.find((l) => /^\s*LOAD/.test(l) && /R E/.test(l))
		?.trim()
		.split(/\s+/);
	assert.ok(f);
	exes[name] = { path, sym, text: { offset: BigInt(f[1]), vaddr: BigInt(f[2]), size: BigInt(f[5]) } };
}

function imageOf(name: string): Image {
	const e = exes[name];
	const image = new Image();
	image.add({ start: e.text.vaddr & ~0xfffn, end: (e.text.vaddr & ~0xfffn) + e.text.size + 0x1000n, pgoff: e.text.offset & ~0xfffn, path: e.path });
	return image;
}

before(() => {
	dir = mkdtempSync(join(tmpdir(), "tsprof-sym-"));
	build("one", "__attribute__((noinline)) int only_in_one(int x) { return x * 3; }\nint main(int c, char **v) { return only_in_one(c); }");
	build("two", "__attribute__((noinline)) int only_in_two(int x) { return x * 5; }\nint main(int c, char **v) { return only_in_two(c); }");
});
after(() => rmSync(dir, { recursive: true, force: true }));

const noKernel = () => new KernelSymbols(0n, []);

test("two processes with different binaries at the same addresses never share names", () => {
	const s = new Symbolizer({ loadKernelSymbols: noKernel });
	const one = imageOf("one");
	const two = imageOf("two");
	// Both are non-PIE: their text sits at the same addresses.
	assert.equal(one.mappings[0].start, two.mappings[0].start);
	const ip1 = exes.one.sym.only_in_one + 1n;
	const ip2 = exes.two.sym.only_in_two + 1n;
	assert.equal(s.userFrame(999_001, one, ip1, false).name, "only_in_one");
	assert.equal(s.userFrame(999_002, two, ip2, false).name, "only_in_two");
	// Same address, other process: its own binary answers.
	assert.equal(s.userFrame(999_002, two, ip1, false).name === "only_in_one", false);
	assert.equal(s.userFrame(999_001, one, ip1, false).module, exes.one.path);
	assert.equal(s.userFrame(999_002, two, ip2, false).module, exes.two.path);
});

test("a file is parsed once for many processes, and counted as hits", () => {
	const s = new Symbolizer({ loadKernelSymbols: noKernel });
	const ip = exes.one.sym.only_in_one + 2n;
	for (let pid = 1; pid <= 20; pid++) assert.equal(s.userFrame(900_000 + pid, imageOf("one"), ip, false).name, "only_in_one");
	const st = s.stats();
	assert.equal(st.fileMisses, 1);
	assert.ok(st.fileHits >= 19);
	assert.equal(st.filesCached, 1);
});

test("a copy of a file is another identity; an unmapped address and a missing file say why", () => {
	const s = new Symbolizer({ loadKernelSymbols: noKernel });
	const copy = join(dir, "one-copy");
	copyFileSync(exes.one.path, copy);
	const image = new Image();
	const e = exes.one;
	image.add({ start: e.text.vaddr & ~0xfffn, end: (e.text.vaddr & ~0xfffn) + e.text.size + 0x1000n, pgoff: e.text.offset & ~0xfffn, path: copy });
	assert.equal(s.userFrame(1, image, e.sym.only_in_one, false).name, "only_in_one");
	assert.equal(s.userFrame(1, imageOf("one"), e.sym.only_in_one, false).name, "only_in_one");
	assert.equal(s.stats().fileMisses, 2, "two files, two parses");
	assert.match(s.userFrame(1, image, 0x10n, false).name, /^\[unknown\] 0x10 \(no mapping known: /);
	const gone = new Image();
	gone.add({ start: 0x400000n, end: 0x401000n, pgoff: 0n, path: join(dir, "does-not-exist") });
	const f = s.userFrame(1, gone, 0x400010n, false);
	assert.match(f.name, /^\[unknown\] 0x400010 \(/);
	assert.equal(f.module, join(dir, "does-not-exist"));
});

test("return addresses are looked up one byte back, so a call at a function's end names its caller", () => {
	const s = new Symbolizer({ loadKernelSymbols: noKernel });
	const e = exes.two;
	// The address right after only_in_two's last byte is main's... unless it is a return address
	// into only_in_two, which is what `returnAddress` models.
	const next = Object.values(e.sym).filter((a) => a > e.sym.only_in_two).sort((a, b) => (a < b ? -1 : 1))[0];
	assert.equal(s.userFrame(1, imageOf("two"), next, true).name, "only_in_two");
});

test("kernel frames name their function and say why when they cannot", () => {
	const k = new KernelSymbols(0xffffffff81000000n, [{ name: "schedule", offset: 0x100, type: "T" }]);
	const s = new Symbolizer({ loadKernelSymbols: () => k });
	const f = s.kernelFrame(0xffffffff81000110n, false);
	assert.deepEqual([f.name, f.module, f.kernel], ["schedule", "[kernel]", true]);
	assert.match(s.kernelFrame(0x10n, false).name, /^\[unknown\] 0x10 \(/);
});
