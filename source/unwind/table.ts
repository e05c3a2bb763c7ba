/**
 * A compiled unwind table: for each address range of one ELF file (link-time
 * virtual addresses), how to find the caller's frame. One row per change of
 * rule, sorted by address, in parallel typed arrays so that a lookup is a
 * binary search with no object per row.
 */

/** How the canonical frame address (the caller's rsp) is found. Bits 0-2 of a row's kind. */
/** No CFI covers the address. */
export const CFA_NONE = 0;
/** CFA = rsp + cfaOffset. */
export const CFA_RSP = 1;
/** CFA = rbp + cfaOffset. */
export const CFA_RBP = 2;
/** The lazy-binding PLT: rsp + cfaOffset, plus 8 when (rip & 15) >= rbpOffset. */
export const CFA_PLT = 3;
/** A signal trampoline ("S" augmentation): the caller's registers are in the ucontext at rsp. */
export const CFA_SIGNAL = 4;
/** A rule the unwinder does not follow (another register, an expression). */
export const CFA_UNSUPPORTED = 5;
/** Selects the CFA kind of a row's kind byte. */
export const CFA_MASK = 7;

/** Where the caller's rbp is. Bits 3-4 of a row's kind. */
/** The caller's rbp is the callee's. */
export const RBP_SAME = 0 << 3;
/** The caller's rbp is saved at [CFA + rbpOffset]. */
export const RBP_AT_CFA = 1 << 3;
/** The caller's rbp cannot be known. */
export const RBP_UNDEFINED = 2 << 3;
/** Saved in a way the unwinder does not follow (another register, an expression). */
export const RBP_UNSUPPORTED = 3 << 3;
/** Selects the rbp rule of a row's kind byte. */
export const RBP_MASK = 3 << 3;

/** Where the return address is. Bits 5-6 of a row's kind. At [CFA - 8], as every x86-64 call leaves it. */
export const RA_AT_CFA_MINUS_8 = 0 << 5;
/** The outermost frame (_start, thread entry): there is no caller. */
export const RA_UNDEFINED = 1 << 5;
/** Anywhere else: the unwinder stops there. */
export const RA_UNSUPPORTED = 2 << 5;
/** Selects the return-address rule of a row's kind byte. */
export const RA_MASK = 3 << 5;

/**
 * The rows the unwinder reads: `find` gives a row index, and the row's rules
 * are at that index of the three arrays (read them after `find`: a table
 * compiled lazily may grow them).
 */
export interface UnwindRows {
	readonly kinds: Uint8Array;
	readonly cfaOffsets: Int32Array;
	readonly rbpOffsets: Int32Array;
	/** FDEs the table covers. */
	readonly fdes: number;
	/** Bytes held now. */
	readonly byteSize: number;
	/** Index of the row that covers `vaddr`, or -1 when no row does. */
	find(vaddr: number): number;
}

/** The last of rows [lo, hi] whose pc is at or before vaddr, or -1; the rows are sorted by pc. */
export function lastRowAtOrBefore(pcs: Float64Array, lo: number, hi: number, vaddr: number): number {
	if (hi < lo || !(vaddr >= pcs[lo])) return -1;
	while (lo < hi) {
		const mid = (lo + hi + 1) >> 1;
		if (pcs[mid] <= vaddr) lo = mid;
		else hi = mid - 1;
	}
	return lo;
}

/** Compiled call frame information of one file, all of it at once. */
export class UnwindTable implements UnwindRows {
	/** Start address of each row; a row holds until the next one. */
	readonly pcs: Float64Array;
	readonly kinds: Uint8Array;
	readonly cfaOffsets: Int32Array;
	/** The rbp save slot relative to the CFA; for CFA_PLT rows, the threshold of (rip & 15). */
	readonly rbpOffsets: Int32Array;
	readonly length: number;
	/** FDEs compiled into rows. */
	readonly fdes: number;
	/** Entries skipped as malformed or unsupported (the rest of the file still counts). */
	readonly skipped: number;

	constructor(pcs: Float64Array, kinds: Uint8Array, cfaOffsets: Int32Array, rbpOffsets: Int32Array, fdes: number, skipped: number) {
		this.pcs = pcs;
		this.kinds = kinds;
		this.cfaOffsets = cfaOffsets;
		this.rbpOffsets = rbpOffsets;
		this.length = pcs.length;
		this.fdes = fdes;
		this.skipped = skipped;
	}

	/** Bytes held by the rows. */
	get byteSize(): number {
		return this.length * 17 + 64;
	}

	/** Index of the row that covers `vaddr`, or -1 when no row does. */
	find(vaddr: number): number {
		const i = lastRowAtOrBefore(this.pcs, 0, this.length - 1, vaddr);
		return i < 0 || (this.kinds[i] & CFA_MASK) === CFA_NONE ? -1 : i;
	}
}
