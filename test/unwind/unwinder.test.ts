import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Image } from "../../source/process/image.js";
import { KernelSymbols } from "../../source/symbols/kallsyms.js";
import { Symbolizer } from "../../source/symbols/symbolizer.js";
import { type UnwindResult, Unwinder } from "../../source/unwind/unwinder.js";
import { type Capture, NO_FP, buildFixture, capture, haveTools, readelfRows } from "./fixture.js";

const skip = !haveTools() && process.env.CI !== "true" ? "needs gcc and readelf" : false;
// The fixture has exited when it is unwound, as a short-lived process has:
// files are found by path, as for any process that is gone.
const GONE_PID = 0x3fff_fff0;

let dir: string;
let emptyProc: string;
let nofp: string;
let fpOnly: string;
const captures: Record<string, Capture> = {};

before(() => {
	if (skip) return;
	dir = mkdtempSync(join(tmpdir(), "tsprof-unwind-"));
	emptyProc = mkdtempSync(join(tmpdir(), "tsprof-noproc-"));
	nofp = buildFixture(dir, "nofp", NO_FP);
	// Frame pointers and no unwind tables: only the fallback can walk its frames.
	fpOnly = buildFixture(dir, "fponly", ["-O2", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-fno-inline", "-fno-optimize-sibling-calls", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"]);
	for (const mode of ["deep", "qsort", "signal"]) captures[mode] = capture(nofp, dir, mode);
	captures.fpDeep = capture(fpOnly, dir, "deep");
});
after(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
	if (emptyProc) rmSync(emptyProc, { recursive: true, force: true });
});

function unwinder(): Unwinder {
	return new Unwinder({ procRoot: emptyProc });
}

function unwind(u: Unwinder, c: Capture, stack = c.stack, start = c.sp, image: Image = c.image, stackCut = false): UnwindResult {
	if (start === c.sp) return u.unwind(GONE_PID, image, { ip: c.ip, sp: c.sp, bp: c.bp }, stack, stackCut);
	return u.unwindCopy(GONE_PID, image, { ip: c.ip, sp: c.sp, bp: c.bp }, { start, bytes: stack }, stackCut);
}

function names(c: Capture, r: UnwindResult): string[] {
	const s = new Symbolizer({ procRoot: emptyProc, loadKernelSymbols: () => new KernelSymbols(0n, []) });
	return r.pcs.map((pc, i) => s.userFrame(GONE_PID, c.image, pc, i > 0).name);
}

/** `want` appears in `got` in order, each right after the previous unless `gaps`. */
function assertCallers(got: string[], want: string[], gaps = false): void {
	let at = got.indexOf(want[0]);
	assert.ok(at >= 0, `${want[0]} in ${got.join(" <- ")}`);
	for (const name of want.slice(1)) {
		const next = gaps ? got.indexOf(name, at + 1) : at + 1;
		assert.equal(got[next], name, `after ${got[at]}: ${got.join(" <- ")}`);
		at = next;
	}
}

describe("unwinding real stack images", { skip }, () => {
	test("a -fomit-frame-pointer build unwinds from a frameless leaf through every caller to _start", () => {
		const u = unwinder();
		const c = captures.deep;
		const r = unwind(u, c);
		const got = names(c, r);
		assert.equal(r.truncated, undefined, got.join(" <- "));
		assert.equal(r.pcs[0], c.ip);
		assertCallers(got, ["leaf_capture", "level3", "level2", "level1", "main"]);
		assert.equal(got.at(-1), "_start", "the outermost frame is _start, whose CFI marks the end");
		const st = u.stats();
		assert.equal(st.unwinds, 1);
		assert.equal(st.frames, r.pcs.length);
		assert.equal(st.leafRecoveries, 1, "the leaf's caller came from its rsp-based CFA");
		assert.equal(st.fpFallbacks, 0);
	});

	test("libc's qsort (no frame pointers) keeps the callback's callers", () => {
		const c = captures.qsort;
		const r = unwind(unwinder(), c);
		const got = names(c, r);
		assert.equal(r.truncated, undefined, got.join(" <- "));
		assertCallers(got, ["leaf_capture", "compare"]);
		assertCallers(got, ["compare", "sort_them", "main"], true);
		const between = r.pcs.slice(got.indexOf("compare") + 1, got.indexOf("sort_them"));
		assert.ok(between.length >= 1, "qsort's own frames lie between the callback and its caller");
		for (const pc of between) assert.match(c.image.find(pc)?.path ?? "", /libc/);
	});

	test("a signal handler unwinds through __restore_rt into the interrupted code", () => {
		const u = unwinder();
		const c = captures.signal;
		const r = unwind(u, c);
		const got = names(c, r);
		assert.equal(r.truncated, undefined, got.join(" <- "));
		assertCallers(got, ["leaf_capture", "on_signal"]);
		assertCallers(got, ["on_signal", "signal_me", "main"], true);
		assert.equal(u.stats().signalFrames, 1);
		// The frame after __restore_rt is where kill() was when the signal came: libc, not a return address.
		assert.equal(r.interrupted?.length, 1);
		const at = r.interrupted?.[0] ?? -1;
		assert.ok(at > got.indexOf("on_signal") && at < got.indexOf("signal_me"), `${at} in ${got.join(" <- ")}`);
		assert.match(c.image.find(r.pcs[at])?.path ?? "", /libc/);
	});

	test("without unwind tables, the frame pointer fallback still reaches main", () => {
		const u = unwinder();
		const c = captures.fpDeep;
		const r = unwind(u, c);
		const got = names(c, r);
		// gcc gives the leaf no frame even so: frame pointers alone skip its caller (level3).
		assert.equal(got[0], "leaf_capture");
		assertCallers(got, ["level2", "level1", "main"]);
		assert.ok(u.stats().fpFallbacks >= 4, `fp fallbacks: ${u.stats().fpFallbacks}`);
	});

	test("a stack copy cut at its budget says the copy was too short", () => {
		const u = unwinder();
		const c = captures.deep;
		const r = unwind(u, c, c.stack.subarray(0, 24), c.sp, c.image, true);
		assert.equal(r.truncated, "stack copy too short");
		assert.ok(r.pcs.length >= 1);
		assert.equal(u.stats().truncated["stack copy too short"], 1);
	});

	test("a stack copy that ended where the stack mapping did says the memory was unreadable", () => {
		const c = captures.deep;
		const r = unwind(unwinder(), c, c.stack.subarray(0, 24), c.sp, c.image, false);
		assert.equal(r.truncated, "unreadable memory");
	});

	test("a copy that starts above sp is unreadable memory", () => {
		const c = captures.deep;
		const r = unwind(unwinder(), c, c.stack.subarray(64), c.sp + 64n);
		assert.equal(r.truncated, "unreadable memory");
	});

	test("in an epilogue whose rbp rule points below sp, rbp is the caller's again and the walk goes on", () => {
		const c = captures.deep;
		// libc's epilogues pop rbp and move the CFA, and keep rbp's save rule:
		// a row "CFA rsp+16, rbp at CFA-48" is one where rbp was popped already.
		const libc = c.image.mappings.find((m) => /libc\.so/.test(m.path));
		assert.ok(libc, "the fixture maps libc's code");
		const rows = readelfRows(libc.path);
		// Its code segment's addresses are its file offsets, as in every libc here.
		const inCode = (loc: number) => BigInt(loc) >= libc.pgoff && BigInt(loc) < libc.pgoff + (libc.end - libc.start);
		const popped = rows.find((r) => inCode(r.loc) && r.cfa === "rsp+16" && /^c-(\d+)$/.test(r.rbp) && Number(r.rbp.slice(2)) > 16 && r.ra === "c-8");
		assert.ok(popped, "libc has an epilogue row with rbp's slot below sp");
		// The sample is in that epilogue with one word popped to go: its return
		// address is the leaf's, into level3.
		const sp = c.sp - 8n;
		const stack = new Uint8Array(8 + c.stack.length);
		stack.set(c.stack, 8);
		const u = unwinder();
		const r = u.unwindCopy(GONE_PID, c.image, { ip: libc.start - libc.pgoff + BigInt(popped.loc), sp, bp: c.bp }, { start: sp, bytes: stack });
		const got = names(c, r);
		assert.equal(r.truncated, undefined, got.join(" <- "));
		assertCallers(got, ["level3", "level2", "level1", "main"]);
		assert.equal(got.at(-1), "_start");
	});

	test("a return address outside every mapping ends with no mapping", () => {
		const c = captures.deep;
		const only = new Image();
		const own = c.image.find(c.ip);
		assert.ok(own);
		only.add(own);
		const r = unwind(unwinder(), c, c.stack, c.sp, only);
		assert.equal(r.truncated, "no mapping");
		assert.ok(r.pcs.length >= 5, "the executable's own frames are all there");
	});

	test("the depth limit holds", () => {
		const u = new Unwinder({ procRoot: emptyProc, maxDepth: 3 });
		const r = unwind(u, captures.deep);
		assert.equal(r.pcs.length, 3);
		assert.equal(r.truncated, "depth limit");
	});

	test("tables are compiled once per file and shared by processes", () => {
		const u = unwinder();
		unwind(u, captures.deep);
		const first = u.stats().tables;
		unwind(u, captures.qsort);
		const second = u.stats().tables;
		assert.ok(first.misses >= 2, "the executable and libc");
		assert.equal(second.misses, first.misses, "a second process of the same files compiles nothing");
		assert.ok(second.hits > first.hits);
		assert.ok(second.bytes > 0 && second.bytes === first.bytes);
	});

	test("one process's table never answers for another file at the same address", () => {
		const u = unwinder();
		const c = captures.deep;
		const r1 = unwind(u, c);
		// The same addresses, mapped from the frame-pointer build: different code, different rows.
		const swapped = new Image();
		for (const m of c.image.mappings) swapped.add(m.path === nofp ? { ...m, path: fpOnly, fileKey: undefined } : m);
		const r2 = unwind(u, c, c.stack, c.sp, swapped);
		assert.notDeepEqual(r2.pcs, r1.pcs);
	});
});

describe("a thread's next walk joins its last one where the two stacks meet", { skip }, () => {
	const TID = 4242;
	const regs = (c: Capture) => ({ ip: c.ip, sp: c.sp, bp: c.bp });

	/** The offset in `c.stack` of the word holding return address `pc`, searched from the top down. */
	function slotOf(c: Capture, pc: bigint): number {
		const view = new DataView(c.stack.buffer, c.stack.byteOffset, c.stack.byteLength);
		for (let off = c.stack.length - 8; off >= 0; off -= 8) if (view.getBigUint64(off, true) === pc) return off;
		return -1;
	}

	test("the same stack walked twice gives the same result, the second time mostly joined", () => {
		const c = captures.deep;
		const u = unwinder();
		const first = u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID);
		assert.equal(u.stats().joinedFrames, 0, "nothing to join on a thread's first walk");
		const second = u.unwind(GONE_PID, c.image, regs(c), c.stack.slice(), false, TID);
		assert.deepEqual(second.pcs, first.pcs);
		assert.equal(second.truncated, first.truncated);
		assert.equal(u.stats().joinedFrames, first.pcs.length - 1, "every frame after the leaf comes from the last walk");
		assert.equal(u.stats().leafRecoveries, 2);
	});

	test("frame-pointer frames taken from the last walk still count as fallbacks", () => {
		const c = captures.fpDeep;
		const alone = unwinder();
		alone.unwind(GONE_PID, c.image, regs(c), c.stack);
		const u = unwinder();
		u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID);
		u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID);
		assert.ok(u.stats().joinedFrames > 0);
		assert.equal(u.stats().fpFallbacks, 2 * alone.stats().fpFallbacks);
	});

	test("changed bytes above the meeting frame refuse the join, and the walk reads them", () => {
		const c = captures.deep;
		const u = unwinder();
		const first = u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID);
		// main's return address, zeroed: the walk must now end at main.
		const names0 = names(c, first);
		const at = slotOf(c, first.pcs[names0.indexOf("main") + 1]);
		assert.ok(at > 0, "main's return address is on the copied stack");
		const changed = c.stack.slice();
		changed.fill(0, at, at + 8);
		const fresh = unwinder().unwind(GONE_PID, c.image, regs(c), changed);
		const again = u.unwind(GONE_PID, c.image, regs(c), changed, false, TID);
		assert.deepEqual(again.pcs, fresh.pcs);
		assert.equal(names(c, again).at(-1), "main");
		assert.ok(again.pcs.length < first.pcs.length);
	});

	test("no join across threads, process images, mapping changes or forgotten copies", () => {
		const c = captures.deep;
		const cases: [string, (u: Unwinder) => void][] = [
			["another thread", (u) => u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID + 1)],
			["another image", (u) => u.unwind(GONE_PID, c.image.clone(), regs(c), c.stack, false, TID)],
			["forgotten copies", (u) => {
				u.forgetStacks();
				u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID);
			}],
			["new mappings", (u) => {
				const image = c.image.clone();
				u.unwind(GONE_PID, image, regs(c), c.stack, false, TID);
				image.add({ ...image.mappings[0], start: 0x1000n, end: 0x2000n });
				u.unwind(GONE_PID, image, regs(c), c.stack, false, TID);
			}],
		];
		for (const [what, second] of cases) {
			const u = unwinder();
			u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID);
			second(u);
			assert.equal(u.stats().joinedFrames, 0, what);
		}
	});

	test("a walk cut short is not kept to be joined", () => {
		const c = captures.deep;
		const u = unwinder();
		u.unwind(GONE_PID, c.image, regs(c), c.stack.subarray(0, 24), true, TID);
		u.unwind(GONE_PID, c.image, regs(c), c.stack, false, TID);
		assert.equal(u.stats().joinedFrames, 0);
	});
});
