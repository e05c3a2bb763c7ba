import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Image, type Mapping } from "../../source/process/image.js";
import { compileCfi } from "../../source/unwind/cfi.js";
import type { FileTable, TableStats } from "../../source/unwind/tables.js";
import { Unwinder } from "../../source/unwind/unwinder.js";
import { type FdeSpec, ehFrame } from "./fixture.js";

// One file mapped at 0x400000 with pgoff 0, link-time addresses equal to file offsets.
const BASE = 0x400000n;
const SP = 0x7ffd_0000n;

/** An unwinder over a file whose CFI is `fdes`, and a process that maps it (plus anonymous JIT code at 0x900000). */
function setup(fdes: FdeSpec[]): { u: Unwinder; image: Image } {
	const table = compileCfi({ ehFrame: { bytes: ehFrame(fdes, 0x100), vaddr: 0x100 } });
	const file: FileTable = { table, loads: [{ offset: 0, vaddr: 0, filesz: 0x10000, memsz: 0x10000, executable: true }] };
	const stats: TableStats = { files: 1, bytes: table.byteSize, hits: 0, misses: 0, errors: 0 };
	const image = new Image();
	image.add({ start: BASE, end: BASE + 0x10000n, pgoff: 0n, path: "/bin/fake" });
	image.add({ start: 0x900000n, end: 0x910000n, pgoff: 0n, path: "//anon" });
	const u = new Unwinder({ tables: { get: (_pid: number, m: Mapping) => (m.path === "/bin/fake" ? file : { error: "no file" }), stats: () => stats } });
	return { u, image };
}

/** A stack copy at SP holding u64 `words` at the given byte offsets. */
function stack(words: Record<number, bigint>, size = 512): Uint8Array {
	const b = new Uint8Array(size);
	const v = new DataView(b.buffer);
	for (const [off, w] of Object.entries(words)) v.setBigUint64(Number(off), w, true);
	return b;
}

// A function at 0x1000..0x1100 with a frame: push rbp (CFA rsp+16, rbp at CFA-16), then CFA rbp+16.
const WITH_FRAME: FdeSpec = { start: 0x1000, range: 0x100, ins: [0x41, 0x0e, 16, 0x86, 2, 0x43, 0x0d, 6] };
// A leaf at 0x2000..0x2010 that touches no stack: CFA rsp+8 throughout.
const LEAF: FdeSpec = { start: 0x2000, range: 0x10, ins: [] };
// _start at 0x3000..0x3010: DW_CFA_undefined rip, the end of every stack.
const START: FdeSpec = { start: 0x3000, range: 0x10, ins: [0x07, 16] };
// The lazy PLT at 0x4000..0x4040, as ld writes its CFI.
const PLT: FdeSpec = {
	start: 0x4000,
	range: 0x40,
	ins: [0x0e, 16, 0x46, 0x0e, 24, 0x4a, 0x0f, 11, 0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22],
};
// __restore_rt at 0x5000..0x5010 ("S"); its FDE begins a byte early, as glibc's does.
const RESTORE_RT: FdeSpec = { start: 0x4fff, range: 0x11, ins: [], signal: true };

describe("unwinding rules on hand-made tables and stacks", () => {
	test("a frameless leaf's caller comes from [rsp], then rbp-based frames to _start", () => {
		const { u, image } = setup([WITH_FRAME, LEAF, START]);
		// leaf at 0x2004: RA at [sp] -> 0x1050 (in WITH_FRAME after the push/mov); its CFA is rbp+16.
		const bp = SP + 0x40n;
		const bytes = stack({ 0: BASE + 0x1050n, 0x40: 0x1234n, 0x48: BASE + 0x3008n });
		const r = u.unwindCopy(1, image, { ip: BASE + 0x2004n, sp: SP, bp }, { start: SP, bytes });
		assert.deepEqual(r.pcs, [BASE + 0x2004n, BASE + 0x1050n, BASE + 0x3008n]);
		assert.equal(r.truncated, undefined);
		const st = u.stats();
		assert.equal(st.leafRecoveries, 1);
		assert.equal(st.frames, 3);
	});

	test("in the PLT, the CFA grows by 8 once the entry has pushed its index", () => {
		const { u, image } = setup([PLT, START]);
		// At an entry's first instruction ((rip & 15) < 11): the return address is at [rsp].
		let r = u.unwindCopy(1, image, { ip: BASE + 0x4010n, sp: SP, bp: 0n }, { start: SP, bytes: stack({ 0: BASE + 0x3004n }) });
		assert.deepEqual(r.pcs, [BASE + 0x4010n, BASE + 0x3004n]);
		// After the push ((rip & 15) >= 11): it is at [rsp+8].
		r = u.unwindCopy(1, image, { ip: BASE + 0x401bn, sp: SP, bp: 0n }, { start: SP, bytes: stack({ 0: 7n, 8: BASE + 0x3004n }) });
		assert.deepEqual(r.pcs, [BASE + 0x401bn, BASE + 0x3004n]);
		// PLT0 after its push: CFA rsp+24.
		r = u.unwindCopy(1, image, { ip: BASE + 0x4006n, sp: SP, bp: 0n }, { start: SP, bytes: stack({ 16: BASE + 0x3004n }) });
		assert.deepEqual(r.pcs, [BASE + 0x4006n, BASE + 0x3004n]);
	});

	test("a signal frame takes the interrupted registers from the ucontext", () => {
		const { u, image } = setup([LEAF, RESTORE_RT, WITH_FRAME, START]);
		// handler (the leaf) returns to __restore_rt; the ucontext sits right above.
		const uc = 8;
		const interruptedSp = SP + 0x200n;
		const bytes = stack({
			0: BASE + 0x5000n,
			[uc + 40 + 16 * 8]: BASE + 0x1050n, // rip: inside WITH_FRAME, not a return address
			[uc + 40 + 15 * 8]: interruptedSp,
			[uc + 40 + 10 * 8]: interruptedSp + 0x10n, // rbp
			0x210: 0n,
			0x218: BASE + 0x3004n,
		}, 1024);
		const r = u.unwindCopy(1, image, { ip: BASE + 0x2000n, sp: SP, bp: 0n }, { start: SP, bytes });
		assert.deepEqual(r.pcs, [BASE + 0x2000n, BASE + 0x5000n, BASE + 0x1050n, BASE + 0x3004n]);
		assert.equal(r.truncated, undefined);
		assert.deepEqual(r.interrupted, [2], "the interrupted ip is no return address");
		assert.equal(u.stats().signalFrames, 1);
	});

	test("JIT code in anonymous memory is walked by frame pointer", () => {
		const { u, image } = setup([WITH_FRAME, START]);
		const bp = SP + 0x20n;
		// JIT frame: [rbp] = caller's rbp, [rbp+8] = return into WITH_FRAME (CFA rbp+16 there).
		const bytes = stack({ 0x20: SP + 0x80n, 0x28: BASE + 0x1050n, 0x80: 0n, 0x88: BASE + 0x3004n });
		const r = u.unwindCopy(1, image, { ip: 0x900100n, sp: SP, bp }, { start: SP, bytes });
		assert.deepEqual(r.pcs, [0x900100n, BASE + 0x1050n, BASE + 0x3004n]);
		assert.equal(u.stats().fpFallbacks, 1);
	});

	test("a return address into memory no mapping covers goes on by frame pointer", () => {
		const { u, image } = setup([LEAF, WITH_FRAME, START]);
		// leaf -> code at 0xa00100 that the image does not know (JIT memory the
		// kernel reported nothing for) -> WITH_FRAME -> _start.
		const bp = SP + 0x20n;
		const bytes = stack({ 0: 0xa00100n, 0x20: SP + 0x80n, 0x28: BASE + 0x1050n, 0x80: 0n, 0x88: BASE + 0x3004n });
		const r = u.unwindCopy(1, image, { ip: BASE + 0x2000n, sp: SP, bp }, { start: SP, bytes });
		assert.deepEqual(r.pcs, [BASE + 0x2000n, 0xa00100n, BASE + 0x1050n, BASE + 0x3004n]);
		assert.equal(r.truncated, undefined);
		assert.equal(u.stats().fpFallbacks, 1);
	});

	test("a return address of 0 ends the stack without truncation", () => {
		const { u, image } = setup([LEAF]);
		const r = u.unwindCopy(1, image, { ip: BASE + 0x2000n, sp: SP, bp: 0n }, { start: SP, bytes: stack({ 0: 0n }) });
		assert.deepEqual(r.pcs, [BASE + 0x2000n]);
		assert.equal(r.truncated, undefined);
	});

	test("an address with neither CFI nor a usable frame pointer is no CFI", () => {
		const { u, image } = setup([LEAF]);
		const r = u.unwindCopy(1, image, { ip: BASE + 0x8000n, sp: SP, bp: 0n }, { start: SP, bytes: stack({}) });
		assert.equal(r.truncated, "no CFI");
		assert.equal(u.stats().truncated["no CFI"], 1);
	});

	test("expressions the unwinder cannot follow are unsupported rule", () => {
		// def_cfa_expression (breg7 0; deref) at 0x6001.
		const { u, image } = setup([{ start: 0x6000, range: 0x10, ins: [0x41, 0x0f, 3, 0x77, 0, 0x06] }]);
		const r = u.unwindCopy(1, image, { ip: BASE + 0x6004n, sp: SP, bp: 0n }, { start: SP, bytes: stack({}) });
		assert.equal(r.truncated, "unsupported rule");
	});

	test("an rbp-based CFA after rbp was lost is unsupported rule", () => {
		// A leaf whose CFI says rbp is undefined in its caller, returning into an rbp-based frame.
		const { u, image } = setup([WITH_FRAME, { start: 0x2000, range: 0x10, ins: [0x07, 6] }]);
		const r = u.unwindCopy(1, image, { ip: BASE + 0x2004n, sp: SP, bp: SP + 0x40n }, { start: SP, bytes: stack({ 0: BASE + 0x1050n }) });
		assert.deepEqual(r.pcs, [BASE + 0x2004n, BASE + 0x1050n]);
		assert.equal(r.truncated, "unsupported rule");
	});

	test("a frame whose CFA is not above sp ends as sp not increasing", () => {
		// def_cfa rsp+0: the return address would be below sp.
		const { u, image } = setup([{ start: 0x6000, range: 0x10, ins: [0x0c, 7, 0] }]);
		const r = u.unwindCopy(1, image, { ip: BASE + 0x6000n, sp: SP + 8n, bp: 0n }, { start: SP, bytes: stack({ 0: BASE + 0x6000n }) });
		assert.equal(r.truncated, "sp not increasing");
	});

	test("a return address into no mapping ends as no mapping", () => {
		const { u, image } = setup([LEAF]);
		const r = u.unwindCopy(1, image, { ip: BASE + 0x2000n, sp: SP, bp: 0n }, { start: SP, bytes: stack({ 0: 0x12345678n }) });
		assert.deepEqual(r.pcs, [BASE + 0x2000n, 0x12345678n]);
		assert.equal(r.truncated, "no mapping");
	});
});
