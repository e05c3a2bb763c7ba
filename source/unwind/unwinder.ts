/**
 * Unwinds a user stack from the registers at a sample and a copy of the
 * stack above sp, against the process's captured mappings and the call frame
 * information of the mapped files (perf's --call-graph dwarf, done later in
 * user space). Where no CFI covers an address (JIT code, files without
 * .eh_frame) it follows the frame pointer instead.
 *
 * It runs for every sample on the main thread: addresses are numbers (user
 * addresses are below 2^47), rows are found by binary search in typed
 * arrays, and nothing is allocated per frame but the result's bigint.
 */
import type { UserRegs } from "../kernel/abi.js";
import type { Image, Mapping } from "../process/image.js";
import type { UnwoundStack, UserUnwinder } from "../sampler/user-stack.js";
import type { LoadSegment } from "../symbols/elf-reader.js";
import {
	CFA_MASK,
	CFA_PLT,
	CFA_RBP,
	CFA_RSP,
	CFA_SIGNAL,
	RA_MASK,
	RA_UNDEFINED,
	RA_UNSUPPORTED,
	RBP_AT_CFA,
	RBP_MASK,
	RBP_SAME,
	type UnwindRows,
} from "./table.js";
import { type FileTable, TableCache, type TableStats } from "./tables.js";
import { type ThreadWalk, ThreadWalks } from "./thread-walks.js";

/** User registers at the sample (from the task's pt_regs, so user mode even for a kernel-mode sample). */
export type UnwindRegs = UserRegs;

/** A copy of user memory: `bytes[0]` was at address `start` (normally sp). */
export interface StackCopy {
	readonly start: bigint;
	readonly bytes: Uint8Array;
}

/** Why a stack ends before its outermost frame. */
export type TruncationReason =
	/** No CFI covers the address and the frame pointer cannot be followed. */
	| "no CFI"
	/** The caller's frame lies past the end of the copy. */
	| "stack copy too short"
	/** The CFI rule is one the unwinder does not follow (an expression, a CFA in another register). */
	| "unsupported rule"
	/** The frame points below the copy (memory that was not captured). */
	| "unreadable memory"
	/** A return address outside every mapping of the process. */
	| "no mapping"
	/** The caller's stack pointer is not above the callee's: a corrupt frame. */
	| "sp not increasing"
	| "depth limit";

/** Every {@link TruncationReason}, in the order summaries list them. */
export const TRUNCATION_REASONS: readonly TruncationReason[] = [
	"no CFI",
	"stack copy too short",
	"unsupported rule",
	"unreadable memory",
	"no mapping",
	"sp not increasing",
	"depth limit",
];

/** The frames of one sample. */
export interface UnwindResult {
	/** Innermost first; pcs[0] is regs.ip, the rest are return addresses. */
	readonly pcs: readonly bigint[];
	/** Set when the stack ends early, with why. */
	readonly truncated?: TruncationReason;
	/**
	 * Indexes of pcs, besides 0, that are where a signal interrupted the
	 * code rather than return addresses (name them without the -1).
	 */
	readonly interrupted?: number[];
}

/** What the unwinder has done, for the header and the record summary. */
export interface UnwinderStats {
	readonly unwinds: number;
	/** Frames produced, the sampled ip included. */
	readonly frames: number;
	readonly truncated: Readonly<Record<TruncationReason, number>>;
	/** Frames found through the frame pointer because no CFI covered the address. */
	readonly fpFallbacks: number;
	/** First frames whose CFA was rsp-based (no frame of their own) whose caller was still found. */
	readonly leafRecoveries: number;
	/** Signal frames stepped over through the ucontext. */
	readonly signalFrames: number;
	/** Frames taken from the thread's last walk where the two met (thread-walks.ts). */
	readonly joinedFrames: number;
	readonly tables: TableStats;
}

/** What an {@link Unwinder} reads and how far it goes. */
export interface UnwinderOptions {
	/** Where /proc is; tests point it elsewhere. */
	readonly procRoot?: string;
	/** Budget for compiled tables (default 64 MiB). */
	readonly maxTableBytes?: number;
	/** Frames at most, the ip included (default 127). */
	readonly maxDepth?: number;
	/** Where tables come from; defaults to a {@link TableCache} over procRoot. */
	readonly tables?: { get(pid: number, m: Mapping): FileTable; stats(): TableStats };
}

// Offsets in the ucontext_t that rsp points at in __restore_rt (struct
// rt_sigframe after the handler returned): uc_mcontext.gregs at 40.
const UC_RBP = 40 + 10 * 8;
const UC_RSP = 40 + 15 * 8;
const UC_RIP = 40 + 16 * 8;

const MEMO_SLOTS = 8;

// What a read of the stack copy found; the word itself is left in the
// unwinder's \`word\` (a value past 2^53, no user address, reads as NaN).
const READ_OK = 0;
const READ_BELOW = -1;
const READ_PAST = -2;

/**
 * The sampler's {@link UserUnwinder}, by CFI with a frame-pointer fallback:
 *
 * - `new Unwinder(options?: UnwinderOptions)`
 * - `unwind(pid: number, image: Image, regs: {ip, sp, bp: bigint}, stack: Uint8Array, stackCut = false): UnwindResult`,
 *   `stack` holding user memory from `regs.sp` up; `stackCut` says the copy
 *   stopped at its byte budget (reads past it are "stack copy too short")
 *   rather than at the end of the stack mapping ("unreadable memory").
 * - `unwindCopy(pid, image, regs, copy: {start: bigint, bytes: Uint8Array}, stackCut = false): UnwindResult`
 *   for a copy that does not begin at sp.
 * - `stats(): UnwinderStats` for counts and table memory.
 */
export class Unwinder implements UserUnwinder {
	private readonly tables: { get(pid: number, m: Mapping): FileTable; stats(): TableStats };
	private readonly maxDepth: number;
	private unwinds = 0;
	private frames = 0;
	private fpFallbacks = 0;
	private leafRecoveries = 0;
	private signalFrames = 0;
	private readonly truncations: Record<TruncationReason, number> = {
		"no CFI": 0,
		"stack copy too short": 0,
		"unsupported rule": 0,
		"unreadable memory": 0,
		"no mapping": 0,
		"sp not increasing": 0,
		"depth limit": 0,
	};
	// The stack being read; set per unwind so that reads need no closure.
	private view: DataView = new DataView(new ArrayBuffer(0));
	private base = 0;
	private readonly word = new Float64Array(1);
	// The row found by the last lookup.
	private table: UnwindRows | undefined;
	// Mappings met in the unwind under way (see resolve).
	private memoCount = 0;
	private readonly memoStart = new Float64Array(MEMO_SLOTS);
	private readonly memoEnd = new Float64Array(MEMO_SLOTS);
	private readonly memoOffset = new Float64Array(MEMO_SLOTS);
	private readonly memoFile: ({ table: UnwindRows; loads: readonly LoadSegment[] } | undefined)[] = new Array(MEMO_SLOTS).fill(undefined);
	// What a read past the end of the copy means for the unwind under way.
	private pastEnd: TruncationReason = "stack copy too short";
	// Signal frames of the unwind under way.
	private interrupted: number[] | undefined;
	// The thread's last walk, which this one may join, and the record of this one.
	private readonly walks: ThreadWalks;
	private joinWith: ThreadWalk | undefined;
	private recording: ThreadWalk | undefined;
	// Lowest offset read for the frame under way, and one past the highest read in the walk.
	private frameLow = Number.POSITIVE_INFINITY;
	private readEnd = 0;
	private joinedFrames = 0;

	constructor(options: UnwinderOptions = {}) {
		this.tables = options.tables ?? new TableCache({ procRoot: options.procRoot, maxBytes: options.maxTableBytes });
		this.maxDepth = Math.max(1, options.maxDepth ?? 127);
		this.walks = new ThreadWalks(this.maxDepth);
	}

	/** The stack copies unwound so far are about to be overwritten: forget the walks that refer to them. */
	forgetStacks(): void {
		this.walks.forget();
	}

	/**
	 * Unwinds one sample of process `pid` (which may have exited) through its
	 * image; `stack` starts at regs.sp. With thread `tid` given, the walk may
	 * join that thread's last one (see thread-walks.ts) until `forgetStacks`.
	 */
	unwind(pid: number, image: Image, regs: UnwindRegs, stack: Uint8Array, stackCut = false, tid?: number): UnwindResult {
		return this.unwindCopy(pid, image, regs, { start: regs.sp, bytes: stack }, stackCut, tid);
	}

	/** As {@link unwind}, for a copy of user memory that starts at `copy.start`. */
	unwindCopy(pid: number, image: Image, regs: UnwindRegs, stack: StackCopy, stackCut = false, tid?: number): UnwindResult {
		this.unwinds++;
		this.pastEnd = stackCut ? "stack copy too short" : "unreadable memory";
		const pcs: bigint[] = [regs.ip];
		this.interrupted = undefined;
		this.joinWith = tid === undefined ? undefined : this.walks.joinable(tid, image);
		this.joinWith?.rewind();
		const rec = tid === undefined ? undefined : this.walks.recording(tid);
		this.recording = rec;
		this.frameLow = Number.POSITIVE_INFINITY;
		this.readEnd = 0;
		const result = this.walk(pid, image, regs, stack, pcs);
		// Only a walk that ended on what its frames hold can be joined: one
		// that ran off its copy or out of depth would end elsewhere in another.
		if (rec !== undefined && tid !== undefined && this.interrupted === undefined && result !== "stack copy too short" && result !== "unreadable memory" && result !== "depth limit") {
			const last = pcs.length - 1;
			if (this.frameLow + this.base < rec.lowestRead[last]) rec.lowestRead[last] = this.frameLow + this.base;
			rec.end = Math.max(rec.end, this.readEnd + this.base);
			rec.result = pcs;
			rec.ending = result;
			rec.finish(pcs.length);
			this.walks.keep(tid, rec, image, stack.bytes, this.base);
		}
		this.joinWith = undefined;
		this.recording = undefined;
		// Tables stay owned by the cache and its byte budget, not by this memo.
		for (let i = 0; i < this.memoCount; i++) this.memoFile[i] = undefined;
		this.table = undefined;
		this.frames += pcs.length;
		const interrupted = this.interrupted;
		if (result !== undefined) this.truncations[result]++;
		if (interrupted) return result === undefined ? { pcs, interrupted } : { pcs, truncated: result, interrupted };
		return result === undefined ? { pcs } : { pcs, truncated: result };
	}

	private walk(pid: number, image: Image, regs: UnwindRegs, stack: StackCopy, pcs: bigint[]): TruncationReason | undefined {
		const bytes = stack.bytes;
		this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		this.memoCount = 0;
		this.base = Number(stack.start);
		let pcBig = regs.ip;
		let pc = Number(regs.ip);
		let sp = Number(regs.sp);
		let bp = asAddress(regs.bp);
		// The sampled ip is where execution was; return addresses are one past the call.
		let isReturn = false;
		for (;;) {
			if (pcs.length >= this.maxDepth) return "depth limit";
			const frame = pcs.length - 1;
			const rec = this.recording;
			if (rec !== undefined) {
				if (frame > 0) rec.lowestRead[frame - 1] = this.frameLow + this.base;
				this.frameLow = Number.POSITIVE_INFINITY;
				rec.pcs[frame] = pc;
				rec.sps[frame] = sp;
				rec.bps[frame] = bp;
				rec.lowestRead[frame] = Number.POSITIVE_INFINITY;
				rec.byFramePointer[frame] = 0;
				if (frame === 0) rec.end = 0;
			}
			const old = this.joinWith;
			// After a signal frame the next pc is no return address, as it was in the last walk.
			if (old !== undefined && frame > 0 && this.interrupted === undefined) {
				const j = old.join(pc, sp, bp, bytes, this.base);
				if (j >= 0 && frame + old.depth - j <= this.maxDepth) return this.joinAt(old, j, pcs, rec);
				if (j >= 0) this.joinWith = undefined;
			}
			// Outside every file mapping (JIT code in anonymous memory, which
			// keeps frame pointers in V8 and most JITs) only the frame pointer can go on.
			const slot = this.resolve(pid, image, pc, pcBig);
			const row = slot < 0 ? -1 : this.lookup(slot, isReturn ? pc - 1 : pc);
			const m = slot >= 0;
			let cfa: number;
			let ra: number;
			let nextBp = bp;
			if (row >= 0) {
				const t = this.table as UnwindRows;
				const kind = t.kinds[row];
				const cfaKind = kind & CFA_MASK;
				if (cfaKind === CFA_RSP) cfa = sp + t.cfaOffsets[row];
				else if (cfaKind === CFA_RBP) {
					if (Number.isNaN(bp)) return "unsupported rule";
					cfa = bp + t.cfaOffsets[row];
				} else if (cfaKind === CFA_PLT) cfa = sp + t.cfaOffsets[row] + ((pc & 15) >= t.rbpOffsets[row] ? 8 : 0);
				else if (cfaKind === CFA_SIGNAL) {
					let status = this.read(sp + UC_RIP - this.base);
					if (status !== READ_OK) return this.readFailure(status);
					const rip = this.word[0];
					status = this.read(sp + UC_RSP - this.base);
					if (status !== READ_OK) return this.readFailure(status);
					const rsp = this.word[0];
					status = this.read(sp + UC_RBP - this.base);
					if (status !== READ_OK) return this.readFailure(status);
					const rbp = this.word[0];
					if (Number.isNaN(rip) || rip === 0) return undefined;
					if (!(rsp > sp)) return "sp not increasing";
					this.signalFrames++;
					pcBig = BigInt(rip);
					(this.interrupted ??= []).push(pcs.length);
					pcs.push(pcBig);
					pc = rip;
					sp = rsp;
					bp = rbp;
					// The interrupted instruction had not run yet: it is no return address.
					isReturn = false;
					continue;
				} else return "unsupported rule";
				const raRule = kind & RA_MASK;
				if (raRule === RA_UNDEFINED) return undefined;
				if (raRule === RA_UNSUPPORTED) return "unsupported rule";
				const status = this.read(cfa - 8 - this.base);
				if (status !== READ_OK) return this.readFailure(status);
				ra = this.word[0];
				const rbpRule = kind & RBP_MASK;
				if (rbpRule === RBP_AT_CFA) {
					const slot = cfa + t.rbpOffsets[row];
					// A save slot below sp was popped already: gcc's epilogues
					// move the CFA as they pop but keep the save rules, so in one
					// the rule points under sp, and rbp holds the caller's value again.
					if (slot >= sp) {
						const status = this.read(slot - this.base);
						if (status !== READ_OK) return this.readFailure(status);
						nextBp = this.word[0];
					}
				} else if (rbpRule !== RBP_SAME) nextBp = Number.NaN;
				if (pcs.length === 1 && cfaKind === CFA_RSP) this.leafRecoveries++;
			} else {
				if (Number.isNaN(bp) || bp < sp) return m ? "no CFI" : "no mapping";
				cfa = bp + 16;
				let status = this.read(bp + 8 - this.base);
				if (status !== READ_OK) return m ? "no CFI" : this.readFailure(status);
				ra = this.word[0];
				status = this.read(bp - this.base);
				if (status !== READ_OK) return m ? "no CFI" : this.readFailure(status);
				nextBp = this.word[0];
				this.fpFallbacks++;
				if (this.recording !== undefined) this.recording.byFramePointer[pcs.length - 1] = 1;
			}
			if (ra === 0) return undefined;
			if (Number.isNaN(ra)) return "no mapping";
			if (!(cfa > sp)) return "sp not increasing";
			pcBig = BigInt(ra);
			pcs.push(pcBig);
			pc = ra;
			sp = cfa;
			bp = nextBp;
			isReturn = true;
		}
	}

	/**
	 * Ends the walk where it meets frame `j` of the thread's last walk, which
	 * is the frame just pushed: the rest of that walk, and how it ended, are
	 * what this one would find.
	 */
	private joinAt(old: ThreadWalk, j: number, pcs: bigint[], rec: ThreadWalk | undefined): TruncationReason | undefined {
		const at = pcs.length - 1;
		for (let k = j + 1; k < old.depth; k++) pcs.push(old.result[k]);
		for (let k = j; k < old.depth; k++) this.fpFallbacks += old.byFramePointer[k];
		this.joinedFrames += old.depth - j;
		if (rec !== undefined) {
			for (let k = j; k < old.depth; k++) {
				const to = at + k - j;
				rec.pcs[to] = old.pcs[k];
				rec.sps[to] = old.sps[k];
				rec.bps[to] = old.bps[k];
				rec.lowestRead[to] = old.lowestRead[k];
				rec.byFramePointer[to] = old.byFramePointer[k];
			}
			// This walk's own reads count from frame \`at\`'s lowest on.
			this.frameLow = Number.POSITIVE_INFINITY;
			rec.end = old.end;
		}
		return old.ending as TruncationReason | undefined;
	}

	/** Finds the row for `pc` in mapping `m`, leaving its table in this.table; -1 when there is none. */
	/**
	 * The memo slot of the mapping that holds `pc`, or -1. A stack passes
	 * through few files, so each is looked up (mapping, then table) once
	 * per unwind, and later frames in it cost a range check.
	 */
	private resolve(pid: number, image: Image, pc: number, pcBig: bigint): number {
		const n = this.memoCount;
		for (let i = 0; i < n; i++) if (pc >= this.memoStart[i] && pc < this.memoEnd[i]) return i;
		const m = image.find(pcBig);
		if (!m) return -1;
		const file = this.tables.get(pid, m);
		const slot = n < MEMO_SLOTS ? n : n % MEMO_SLOTS;
		if (n < MEMO_SLOTS) this.memoCount = n + 1;
		this.memoStart[slot] = Number(m.start);
		this.memoEnd[slot] = Number(m.end);
		this.memoOffset[slot] = Number(m.pgoff) - Number(m.start);
		this.memoFile[slot] = "table" in file ? file : undefined;
		return slot;
	}

	/** Finds the row for `pc` in the memoized mapping `slot`, leaving its table in this.table; -1 when there is none. */
	private lookup(slot: number, pc: number): number {
		const file = this.memoFile[slot];
		if (!file) return -1;
		const vaddr = offsetToVaddr(file.loads, pc + this.memoOffset[slot]);
		if (vaddr < 0) return -1;
		this.table = file.table;
		return file.table.find(vaddr);
	}

	/**
	 * Reads the u64 at offset `off` of the stack copy into \`word[0]\`. The
	 * offset and the status are small integers and the word goes through a
	 * typed array: V8 does not inline this call, and a user address passed
	 * or returned as a plain number would be a heap allocation per read.
	 */
	private read(off: number): number {
		if (!(off >= 0)) return READ_BELOW;
		if (off + 8 > this.view.byteLength) return READ_PAST;
		if (off < this.frameLow) this.frameLow = off;
		if (off + 8 > this.readEnd) this.readEnd = off + 8;
		const hi = this.view.getUint32(off + 4, true);
		this.word[0] = hi >= 0x200000 ? Number.NaN : hi * 0x1_0000_0000 + this.view.getUint32(off, true);
		return READ_OK;
	}

	private readFailure(code: number): TruncationReason {
		return code === READ_BELOW ? "unreadable memory" : this.pastEnd;
	}

	stats(): UnwinderStats {
		return {
			unwinds: this.unwinds,
			frames: this.frames,
			truncated: { ...this.truncations },
			fpFallbacks: this.fpFallbacks,
			leafRecoveries: this.leafRecoveries,
			signalFrames: this.signalFrames,
			joinedFrames: this.joinedFrames,
			tables: this.tables.stats(),
		};
	}
}


/**
 * Whether `result.pcs[i]` is a return address (so it names the call one byte
 * before it): all but the sampled ip and the ips signals interrupted.
 */
export function isReturnAddress(result: UnwoundStack, i: number): boolean {
	return i > 0 && !(result.interrupted?.includes(i) ?? false);
}

/** A register value as an address number; NaN when it cannot be one. */
function asAddress(v: bigint): number {
	return v >= 0n && v < 0x20_0000_0000_0000n ? Number(v) : Number.NaN;
}

/** Link-time address of a file offset through the PT_LOAD holding it; -1 when none does. */
function offsetToVaddr(loads: readonly LoadSegment[], offset: number): number {
	for (let i = 0; i < loads.length; i++) {
		const l = loads[i];
		if (offset >= l.offset && offset - l.offset < l.filesz) return offset - l.offset + l.vaddr;
	}
	return -1;
}
