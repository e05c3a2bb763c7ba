/**
 * An unwind table compiled one FDE at a time, as stacks reach it. A file's
 * .eh_frame_hdr holds a sorted table of (first address, FDE) pairs: a lookup
 * is a binary search there, and only the FDEs of functions that samples pass
 * through are ever compiled. For node's 76,000 FDEs that is the difference
 * between 0.9 s (and 6 MiB of rows) before the first stack of a new binary
 * is unwound, and a few microseconds (ARCHITECTURE.md, Unwinding).
 *
 * The header comes from the binary like everything else, so it is checked:
 * its table must fit, each FDE it points at must lie in .eh_frame and begin
 * at the address the header says. An FDE that fails is remembered as
 * uncovered, and never parsed again.
 */
import type { CfiInput, CfiSection } from "./cfi.js";
import { CfiError, FdeCompiler } from "./cfi.js";
import { CFA_MASK, CFA_NONE, lastRowAtOrBefore, type UnwindRows } from "./table.js";

/** DW_EH_PE_datarel | DW_EH_PE_sdata4: the one table encoding linkers write. */
const TABLE_DATAREL_SDATA4 = 0x3b;
const NOT_COMPILED = -1;
const UNUSABLE = -2;

/** The .eh_frame_hdr fields this table needs. Throws CfiError when it cannot be used. */
function readHeader(hdr: CfiSection): { count: number; tableAt: number } {
	const b = hdr.bytes;
	const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
	if (b.length < 12 || b[0] !== 1) throw new CfiError("unsupported", ".eh_frame_hdr version");
	const ptrEnc = b[1];
	const countEnc = b[2];
	if (b[3] !== TABLE_DATAREL_SDATA4) throw new CfiError("unsupported", `.eh_frame_hdr table encoding 0x${b[3].toString(16)}`);
	// eh_frame_ptr, then fde_count; both 4 bytes in every linker's output.
	const ptrSize = (ptrEnc & 0x0f) === 0x03 || (ptrEnc & 0x0f) === 0x0b ? 4 : (ptrEnc & 0x0f) === 0x04 || (ptrEnc & 0x0f) === 0x0c ? 8 : 0;
	if (ptrSize === 0 || (countEnc & 0x0f) !== 0x03) throw new CfiError("unsupported", ".eh_frame_hdr pointer encoding");
	const countAt = 4 + ptrSize;
	if (b.length < countAt + 4) throw new CfiError("malformed", ".eh_frame_hdr is cut short");
	const count = view.getUint32(countAt, true);
	const tableAt = countAt + 4;
	if (count === 0) throw new CfiError("unsupported", "no FDE");
	if (count > (b.length - tableAt) / 8) throw new CfiError("malformed", ".eh_frame_hdr table is longer than the section");
	return { count, tableAt };
}

/** Rows of the FDEs named by .eh_frame_hdr, compiled on first use. Throws CfiError from the constructor. */
export class LazyUnwindTable implements UnwindRows {
	readonly fdes: number;
	private readonly hdrVaddr: number;
	private readonly hdr: DataView;
	private readonly tableAt: number;
	private readonly ehFrameVaddr: number;
	private readonly compiler: FdeCompiler;
	/** Per FDE: index of its first row, NOT_COMPILED or UNUSABLE. */
	private readonly first: Int32Array;
	private readonly count: Int32Array;
	/** Per FDE: the address past its last instruction. */
	private readonly end: Float64Array;
	private readonly heldBytes: number;

	constructor(hdr: CfiSection, ehFrame: CfiSection, input: CfiInput) {
		const { count, tableAt } = readHeader(hdr);
		this.fdes = count;
		this.hdrVaddr = hdr.vaddr;
		this.hdr = new DataView(hdr.bytes.buffer, hdr.bytes.byteOffset, hdr.bytes.byteLength);
		this.tableAt = tableAt;
		this.ehFrameVaddr = ehFrame.vaddr;
		this.compiler = new FdeCompiler(ehFrame, input);
		this.first = new Int32Array(count).fill(NOT_COMPILED);
		this.count = new Int32Array(count);
		this.end = new Float64Array(count);
		this.heldBytes = hdr.bytes.byteLength + ehFrame.bytes.byteLength + count * 16;
	}

	get kinds(): Uint8Array {
		return this.compiler.sink.kinds;
	}

	get cfaOffsets(): Int32Array {
		return this.compiler.sink.cfa;
	}

	get rbpOffsets(): Int32Array {
		return this.compiler.sink.rbp;
	}

	/** The sections kept for compiling, the per-FDE index and the rows compiled so far. */
	get byteSize(): number {
		return this.heldBytes + this.compiler.sink.pcs.length * 17 + 64;
	}

	/** FDEs compiled so far. */
	get compiled(): number {
		let n = 0;
		for (let i = 0; i < this.fdes; i++) if (this.first[i] !== NOT_COMPILED) n++;
		return n;
	}

	find(vaddr: number): number {
		const i = this.fdeFor(vaddr);
		if (i < 0) return -1;
		let first = this.first[i];
		if (first === NOT_COMPILED) first = this.compile(i);
		if (first < 0 || !(vaddr < this.end[i])) return -1;
		const row = lastRowAtOrBefore(this.compiler.sink.pcs, first, first + this.count[i] - 1, vaddr);
		return row < 0 || (this.compiler.sink.kinds[row] & CFA_MASK) === CFA_NONE ? -1 : row;
	}

	private initialLoc(i: number): number {
		return this.hdrVaddr + this.hdr.getInt32(this.tableAt + i * 8, true);
	}

	/** The last FDE whose first address is at or before vaddr, or -1. */
	private fdeFor(vaddr: number): number {
		let lo = 0;
		let hi = this.fdes - 1;
		if (!(vaddr >= this.initialLoc(0))) return -1;
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if (this.initialLoc(mid) <= vaddr) lo = mid;
			else hi = mid - 1;
		}
		return lo;
	}

	/** Compiles FDE i; the index of its first row, or UNUSABLE. */
	private compile(i: number): number {
		const sink = this.compiler.sink;
		const fdeVaddr = this.hdrVaddr + this.hdr.getInt32(this.tableAt + i * 8 + 4, true);
		const firstRow = sink.n;
		let range: { start: number; end: number } | undefined;
		try {
			range = this.compiler.compileAt(fdeVaddr - this.ehFrameVaddr);
		} catch (error) {
			// Rows past their bound: this FDE stays uncovered, the ones compiled still serve.
			if (!(error instanceof CfiError)) throw error;
		}
		// The header and the FDE must agree on where the function starts.
		if (!range || range.start !== this.initialLoc(i)) {
			sink.n = firstRow;
			this.first[i] = UNUSABLE;
			return UNUSABLE;
		}
		this.first[i] = firstRow;
		this.count[i] = sink.n - firstRow;
		this.end[i] = range.end;
		return firstRow;
	}
}
