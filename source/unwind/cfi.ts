/**
 * x86-64 call frame information (.eh_frame, .debug_frame) compiled into an
 * {@link UnwindTable}.
 *
 * The input comes from any binary any process maps, so it is hostile: every
 * read is checked against the end of its entry, LEB128 numbers are capped at
 * 10 bytes, every loop consumes input, and the rows produced are bounded by
 * the instruction bytes read. An entry that cannot be used is skipped and
 * counted; a section whose framing is broken ends where it breaks. Only
 * rules the unwinder can follow are kept (CFA = rsp/rbp + offset, the PLT
 * expression, return address at CFA-8, rbp saved at an offset); others
 * become "unsupported" rows, so the unwinder can say why it stopped.
 */
import {
	CFA_NONE,
	CFA_PLT,
	CFA_RBP,
	CFA_RSP,
	CFA_SIGNAL,
	CFA_UNSUPPORTED,
	RA_AT_CFA_MINUS_8,
	RA_UNDEFINED,
	RA_UNSUPPORTED,
	RBP_AT_CFA,
	RBP_SAME,
	RBP_UNDEFINED,
	RBP_UNSUPPORTED,
	UnwindTable,
} from "./table.js";

/** Why a whole section could not be compiled. */
export class CfiError extends Error {
	readonly code: "malformed" | "unsupported" | "too-large";
	constructor(code: "malformed" | "unsupported" | "too-large", message: string) {
		super(message);
		this.name = "CfiError";
		this.code = code;
	}
}

/** One CFI section and the addresses that pointer encodings are relative to. */
export interface CfiSection {
	readonly bytes: Uint8Array;
	/** Link-time address of bytes[0] (for DW_EH_PE_pcrel). */
	readonly vaddr: number;
}

export interface CfiInput {
	readonly ehFrame?: CfiSection;
	readonly debugFrame?: CfiSection;
	/** Base of DW_EH_PE_textrel. */
	readonly textVaddr?: number;
	/** Base of DW_EH_PE_datarel. */
	readonly dataVaddr?: number;
}

// DWARF register numbers on x86-64.
const REG_RBP = 6;
const REG_RSP = 7;
const REG_RA = 16;

const MAX_REMEMBER_DEPTH = 64;
const MAX_CIES = 1 << 16;
/** 17 bytes a row: 2^21 rows is 34 MiB, more than any real binary needs. */
const MAX_ROWS = 1 << 21;

/** Thrown inside one entry; the entry is skipped. */
class EntryError extends Error {}

/** Bounded little-endian reads over one entry. */
class Cursor {
	readonly view: DataView;
	readonly bytes: Uint8Array;
	pos: number;
	end: number;

	constructor(view: DataView, pos: number, end: number) {
		this.view = view;
		this.bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
		this.pos = pos;
		this.end = end;
	}

	need(n: number): void {
		if (n > this.end - this.pos) throw new EntryError("entry ends early");
	}

	u8(): number {
		if (this.pos >= this.end) throw new EntryError("entry ends early");
		return this.bytes[this.pos++];
	}

	u16(): number {
		this.need(2);
		const v = this.view.getUint16(this.pos, true);
		this.pos += 2;
		return v;
	}

	u32(): number {
		this.need(4);
		const v = this.view.getUint32(this.pos, true);
		this.pos += 4;
		return v;
	}

	i32(): number {
		this.need(4);
		const v = this.view.getInt32(this.pos, true);
		this.pos += 4;
		return v;
	}

	/** A u64 as a number; past 2^53 it is not an address we can use. */
	u64(): number {
		this.need(8);
		const lo = this.view.getUint32(this.pos, true);
		const hi = this.view.getUint32(this.pos + 4, true);
		this.pos += 8;
		if (hi >= 0x200000) throw new EntryError("64-bit value out of range");
		return hi * 0x1_0000_0000 + lo;
	}

	i64(): number {
		this.need(8);
		const lo = this.view.getUint32(this.pos, true);
		const hi = this.view.getInt32(this.pos + 4, true);
		this.pos += 8;
		if (hi >= 0x200000 || hi < -0x200000) throw new EntryError("64-bit value out of range");
		return hi * 0x1_0000_0000 + lo;
	}

	uleb(): number {
		// The common case: one byte.
		if (this.pos < this.end && this.bytes[this.pos] < 0x80) return this.bytes[this.pos++];
		let result = 0;
		let scale = 1;
		for (let i = 0; i < 10; i++) {
			const b = this.u8();
			result += (b & 0x7f) * scale;
			if ((b & 0x80) === 0) {
				if (!Number.isSafeInteger(result)) throw new EntryError("LEB128 out of range");
				return result;
			}
			scale *= 128;
		}
		throw new EntryError("LEB128 does not end");
	}

	sleb(): number {
		let result = 0;
		let scale = 1;
		for (let i = 0; i < 10; i++) {
			const b = this.u8();
			result += (b & 0x7f) * scale;
			scale *= 128;
			if ((b & 0x80) === 0) {
				if (b & 0x40) result -= scale;
				if (!Number.isSafeInteger(result)) throw new EntryError("LEB128 out of range");
				return result;
			}
		}
		throw new EntryError("LEB128 does not end");
	}
}

/** The parts of a CIE that its FDEs need. */
interface Cie {
	readonly codeAlign: number;
	readonly dataAlign: number;
	readonly raRegister: number;
	/** DW_EH_PE_* of pc_begin/pc_range; 0 (absptr, 8 bytes) without "R". */
	readonly fdeEncoding: number;
	readonly hasAugmentationData: boolean;
	readonly signal: boolean;
	/** Initial instructions: [start, end) in the section. */
	readonly insStart: number;
	readonly insEnd: number;
	/** .debug_frame version 4 address size. */
	readonly addressSize: number;
}

interface Bases {
	readonly sectionVaddr: number;
	readonly textVaddr?: number;
	readonly dataVaddr?: number;
}

const DW_EH_PE_omit = 0xff;

/** Reads a pointer in the DW_EH_PE encoding `enc`. `valueOnly` skips the base (pc_range). */
function readEncoded(c: Cursor, enc: number, bases: Bases, valueOnly: boolean): number {
	if (enc === DW_EH_PE_omit) throw new EntryError("omitted pointer");
	const at = c.pos;
	let v: number;
	switch (enc & 0x0f) {
		case 0x00: // absptr
		case 0x04: // udata8
			v = c.u64();
			break;
		case 0x01:
			v = c.uleb();
			break;
		case 0x02:
			v = c.u16();
			break;
		case 0x03:
			v = c.u32();
			break;
		case 0x09:
			v = c.sleb();
			break;
		case 0x0a:
			v = c.view.getInt16((c.need(2), c.pos), true);
			c.pos += 2;
			break;
		case 0x0b:
			v = c.i32();
			break;
		case 0x0c:
			v = c.i64();
			break;
		default:
			throw new EntryError(`pointer encoding 0x${enc.toString(16)}`);
	}
	if (valueOnly) return v;
	switch (enc & 0x70) {
		case 0x00:
			break;
		case 0x10: // pcrel
			v += bases.sectionVaddr + at;
			break;
		case 0x20: // textrel
			if (bases.textVaddr === undefined) throw new EntryError("textrel without .text");
			v += bases.textVaddr;
			break;
		case 0x30: // datarel
			if (bases.dataVaddr === undefined) throw new EntryError("datarel without a data base");
			v += bases.dataVaddr;
			break;
		default:
			throw new EntryError(`pointer application 0x${(enc & 0x70).toString(16)}`);
	}
	// Encodings of 4 bytes wrap at 2^32 in a 32-bit address space; here, 64-bit.
	if (!Number.isSafeInteger(v) || v < 0) throw new EntryError("pointer out of range");
	return v;
}

function readCie(c: Cursor, isEh: boolean, bases: Bases): Cie {
	const version = c.u8();
	if (version !== 1 && version !== 3 && version !== 4) throw new EntryError(`CIE version ${version}`);
	const augStart = c.pos;
	while (c.u8() !== 0) {
		// the string ends within the entry or u8() throws
	}
	// Augmentation strings are a few letters; a longer one is not one we know.
	if (c.pos - 1 - augStart > 16) throw new EntryError("augmentation string too long");
	let aug = "";
	for (let i = augStart; i < c.pos - 1; i++) aug += String.fromCharCode(c.bytes[i]);
	let addressSize = 8;
	if (version === 4) {
		addressSize = c.u8();
		const segmentSize = c.u8();
		if (addressSize !== 8 || segmentSize !== 0) throw new EntryError("address size");
	}
	const codeAlign = c.uleb();
	const dataAlign = c.sleb();
	const raRegister = version === 1 ? c.u8() : c.uleb();
	let fdeEncoding = 0;
	let signal = false;
	const hasAugmentationData = aug.startsWith("z");
	if (hasAugmentationData) {
		const len = c.uleb();
		c.need(len);
		const dataEnd = c.pos + len;
		const d = new Cursor(c.view, c.pos, dataEnd);
		for (let i = 1; i < aug.length; i++) {
			const ch = aug[i];
			if (ch === "R") fdeEncoding = d.u8();
			else if (ch === "L") d.u8();
			else if (ch === "P") readEncoded(d, d.u8() & 0x7f, bases, false);
			else if (ch === "S") signal = true;
			else if (ch === "B" || ch === "G") {
				// flags without data
			} else break; // unknown: the length lets us skip the rest
		}
		c.pos = dataEnd;
	} else if (aug === "eh") {
		// Old GCC: an eh_ptr follows.
		c.u64();
	} else if (aug !== "") {
		throw new EntryError(`augmentation "${aug}"`);
	}
	if (!isEh && fdeEncoding !== 0) throw new EntryError("encoded pointers in .debug_frame");
	return { codeAlign, dataAlign, raRegister, fdeEncoding, hasAugmentationData, signal, insStart: c.pos, insEnd: c.end, addressSize };
}

/** Rows of FDEs as they are compiled, in growing typed arrays. */
export class RowSink {
	pcs: Float64Array;
	kinds: Uint8Array;
	cfa: Int32Array;
	rbp: Int32Array;
	n = 0;

	constructor(capacity: number) {
		this.pcs = new Float64Array(capacity);
		this.kinds = new Uint8Array(capacity);
		this.cfa = new Int32Array(capacity);
		this.rbp = new Int32Array(capacity);
	}

	push(pc: number, kind: number, cfa: number, rbp: number, fdeStart: number): void {
		const n = this.n;
		if (n > fdeStart) {
			const last = n - 1;
			// Same address: the later rule wins. Same rule: nothing changes.
			if (this.pcs[last] === pc) {
				this.kinds[last] = kind;
				this.cfa[last] = cfa;
				this.rbp[last] = rbp;
				if (last > fdeStart && this.kinds[last - 1] === kind && this.cfa[last - 1] === cfa && this.rbp[last - 1] === rbp) this.n--;
				return;
			}
			if (this.kinds[last] === kind && this.cfa[last] === cfa && this.rbp[last] === rbp) return;
		}
		if (n === this.pcs.length) {
			if (n >= MAX_ROWS) throw new CfiError("too-large", `more than ${MAX_ROWS} rows`);
			this.grow();
		}
		this.pcs[n] = pc;
		this.kinds[n] = kind;
		this.cfa[n] = cfa;
		this.rbp[n] = rbp;
		this.n = n + 1;
	}

	private grow(): void {
		const size = this.pcs.length * 2 + 16;
		const pcs = new Float64Array(size);
		pcs.set(this.pcs);
		this.pcs = pcs;
		const kinds = new Uint8Array(size);
		kinds.set(this.kinds);
		this.kinds = kinds;
		const cfa = new Int32Array(size);
		cfa.set(this.cfa);
		this.cfa = cfa;
		const rbp = new Int32Array(size);
		rbp.set(this.rbp);
		this.rbp = rbp;
	}
}

function fitsI32(n: number): boolean {
	return n >= -0x8000_0000 && n <= 0x7fff_ffff;
}

/**
 * The register rules the unwinder can use, as the CFA instructions change
 * them. One instance serves a whole section (no object per FDE or row);
 * remembered states live in a fixed-size typed stack.
 */
class Machine {
	cfaKind = CFA_UNSUPPORTED;
	cfaReg = -1;
	cfaOffset = 0;
	rbpRule = RBP_SAME;
	rbpOffset = 0;
	raRule = RA_UNSUPPORTED;
	raOffset = 0;
	// The CIE's initial rules, for DW_CFA_restore.
	private iRbpRule = RBP_SAME;
	private iRbpOffset = 0;
	private iRaRule = RA_UNSUPPORTED;
	private iRaOffset = 0;
	private readonly saved = new Float64Array(MAX_REMEMBER_DEPTH * 7);
	private depth = 0;
	// The FDE being run.
	private sink: RowSink | undefined;
	private loc = 0;
	private pcEnd = 0;
	private fdeStart = 0;
	private signal = false;
	private raRegister = REG_RA;
	private codeAlign = 1;

	/** Back to the state before any CIE. */
	reset(cie: Cie): void {
		this.cfaKind = CFA_UNSUPPORTED;
		this.cfaReg = -1;
		this.cfaOffset = 0;
		this.rbpRule = RBP_SAME;
		this.rbpOffset = 0;
		this.raRule = RA_UNSUPPORTED;
		this.raOffset = 0;
		this.depth = 0;
		this.sink = undefined;
		this.signal = cie.signal;
		this.raRegister = cie.raRegister;
		this.codeAlign = cie.codeAlign;
	}

	/** The state after the CIE's instructions is what DW_CFA_restore goes back to. */
	markInitial(): void {
		this.iRbpRule = this.rbpRule;
		this.iRbpOffset = this.rbpOffset;
		this.iRaRule = this.raRule;
		this.iRaOffset = this.raOffset;
		this.depth = 0;
	}

	/** Rows from here go to `sink`, for [pc, pcEnd). */
	startFde(sink: RowSink, pc: number, pcEnd: number): void {
		this.sink = sink;
		this.loc = pc;
		this.pcEnd = pcEnd;
		this.fdeStart = sink.n;
	}

	emit(): void {
		const sink = this.sink;
		if (!sink || this.loc >= this.pcEnd) return;
		if (this.signal) {
			sink.push(this.loc, CFA_SIGNAL, 0, 0, this.fdeStart);
			return;
		}
		let cfaKind = this.cfaKind;
		if (cfaKind === CFA_RSP || cfaKind === CFA_RBP) {
			cfaKind = this.cfaReg === REG_RSP ? CFA_RSP : this.cfaReg === REG_RBP ? CFA_RBP : CFA_UNSUPPORTED;
		}
		if (!fitsI32(this.cfaOffset)) cfaKind = CFA_UNSUPPORTED;
		let raRule = this.raRule;
		if (raRule === RA_AT_CFA_MINUS_8 && this.raOffset !== -8) raRule = RA_UNSUPPORTED;
		let rbpRule = this.rbpRule;
		if (rbpRule === RBP_AT_CFA && !fitsI32(this.rbpOffset)) rbpRule = RBP_UNSUPPORTED;
		const cfa = cfaKind === CFA_UNSUPPORTED ? 0 : this.cfaOffset;
		if (cfaKind === CFA_PLT) sink.push(this.loc, CFA_PLT | RBP_SAME | raRule, cfa, this.rbpOffset, this.fdeStart);
		else sink.push(this.loc, cfaKind | rbpRule | raRule, cfa, rbpRule === RBP_AT_CFA ? this.rbpOffset : 0, this.fdeStart);
	}

	advance(delta: number): void {
		this.emit();
		this.loc += delta * this.codeAlign;
	}

	setLoc(to: number): void {
		if (to < this.loc) throw new EntryError("set_loc backwards");
		this.emit();
		this.loc = to;
	}

	/** rule: 0 offset, 1 undefined, 2 same, 3 unsupported, 4 restore. */
	setReg(reg: number, rule: number, offset: number): void {
		if (reg === REG_RBP) {
			if (rule === 0) {
				this.rbpRule = RBP_AT_CFA;
				this.rbpOffset = offset;
			} else if (rule === 1) this.rbpRule = RBP_UNDEFINED;
			else if (rule === 2) this.rbpRule = RBP_SAME;
			else if (rule === 4) {
				this.rbpRule = this.iRbpRule;
				this.rbpOffset = this.iRbpOffset;
			} else this.rbpRule = RBP_UNSUPPORTED;
		} else if (reg === this.raRegister) {
			if (rule === 0) {
				this.raRule = RA_AT_CFA_MINUS_8;
				this.raOffset = offset;
			} else if (rule === 1) this.raRule = RA_UNDEFINED;
			else if (rule === 4) {
				this.raRule = this.iRaRule;
				this.raOffset = this.iRaOffset;
			} else this.raRule = RA_UNSUPPORTED;
		}
	}

	remember(): void {
		if (this.depth >= MAX_REMEMBER_DEPTH) throw new EntryError("remember_state too deep");
		const s = this.saved;
		const at = this.depth * 7;
		s[at] = this.cfaKind;
		s[at + 1] = this.cfaReg;
		s[at + 2] = this.cfaOffset;
		s[at + 3] = this.rbpRule;
		s[at + 4] = this.rbpOffset;
		s[at + 5] = this.raRule;
		s[at + 6] = this.raOffset;
		this.depth++;
	}

	restoreState(): void {
		if (this.depth === 0) throw new EntryError("restore_state without remember_state");
		this.depth--;
		const s = this.saved;
		const at = this.depth * 7;
		this.cfaKind = s[at];
		this.cfaReg = s[at + 1];
		this.cfaOffset = s[at + 2];
		this.rbpRule = s[at + 3];
		this.rbpOffset = s[at + 4];
		this.raRule = s[at + 5];
		this.raOffset = s[at + 6];
	}
}

/**
 * The expression binutils' ld emits for the lazy PLT: CFA = rsp + N, plus 8
 * once the entry has pushed its index ((rip & 15) >= K). Sets the machine's
 * CFA to it, or to unsupported for any other expression.
 */
function cfaExpression(c: Cursor, len: number, m: Machine): void {
	const end = c.pos + len;
	const save = c.end;
	c.end = end;
	let n = 0;
	let k = -1;
	try {
		if (c.u8() === 0x77) {
			// DW_OP_breg7 (rsp) N; DW_OP_breg16 (rip) 0; lit15; and; litK; ge; lit3; shl; plus
			n = c.sleb();
			if (c.u8() === 0x80 && c.sleb() === 0 && c.u8() === 0x3f && c.u8() === 0x1a) {
				const lit = c.u8();
				if (lit >= 0x30 && lit <= 0x4f && c.u8() === 0x2a && c.u8() === 0x33 && c.u8() === 0x24 && c.u8() === 0x22 && c.pos === end) k = lit - 0x30;
			}
		}
	} catch (error) {
		if (!(error instanceof EntryError)) throw error;
	}
	c.end = save;
	c.pos = end;
	if (k >= 0 && fitsI32(n)) {
		m.cfaKind = CFA_PLT;
		m.cfaReg = REG_RSP;
		m.cfaOffset = n;
		m.rbpOffset = k;
	} else m.cfaKind = CFA_UNSUPPORTED;
}

/** Runs the CFA instructions in [c.pos, c.end) on `m`. */
function execute(c: Cursor, cie: Cie, m: Machine, bases: Bases, isEh: boolean): void {
	const dataAlign = cie.dataAlign;
	while (c.pos < c.end) {
		const op = c.u8();
		const high = op & 0xc0;
		if (high === 0x40) {
			m.advance(op & 0x3f);
			continue;
		}
		if (high === 0x80) {
			m.setReg(op & 0x3f, 0, c.uleb() * dataAlign);
			continue;
		}
		if (high === 0xc0) {
			m.setReg(op & 0x3f, 4, 0);
			continue;
		}
		switch (op) {
			case 0x00: // nop
				break;
			case 0x01: // set_loc
				m.setLoc(isEh ? readEncoded(c, cie.fdeEncoding, bases, false) : c.u64());
				break;
			case 0x02:
				m.advance(c.u8());
				break;
			case 0x03:
				m.advance(c.u16());
				break;
			case 0x04:
				m.advance(c.u32());
				break;
			case 0x05: {
				const reg = c.uleb();
				m.setReg(reg, 0, c.uleb() * dataAlign);
				break;
			}
			case 0x06:
				m.setReg(c.uleb(), 4, 0);
				break;
			case 0x07:
				m.setReg(c.uleb(), 1, 0);
				break;
			case 0x08:
				m.setReg(c.uleb(), 2, 0);
				break;
			case 0x09: {
				const reg = c.uleb();
				c.uleb();
				m.setReg(reg, 3, 0);
				break;
			}
			case 0x0a:
				m.remember();
				break;
			case 0x0b:
				m.restoreState();
				break;
			case 0x0c:
				m.cfaReg = c.uleb();
				m.cfaOffset = c.uleb();
				m.cfaKind = CFA_RSP;
				break;
			case 0x0d:
				m.cfaReg = c.uleb();
				if (m.cfaKind !== CFA_RSP && m.cfaKind !== CFA_RBP) m.cfaKind = CFA_UNSUPPORTED;
				break;
			case 0x0e:
				m.cfaOffset = c.uleb();
				if (m.cfaKind === CFA_PLT) m.cfaKind = CFA_UNSUPPORTED;
				break;
			case 0x0f: {
				const len = c.uleb();
				c.need(len);
				cfaExpression(c, len, m);
				break;
			}
			case 0x10:
			case 0x16: {
				// expression, val_expression
				const reg = c.uleb();
				const len = c.uleb();
				c.need(len);
				c.pos += len;
				m.setReg(reg, 3, 0);
				break;
			}
			case 0x11: {
				const reg = c.uleb();
				m.setReg(reg, 0, c.sleb() * dataAlign);
				break;
			}
			case 0x12:
				m.cfaReg = c.uleb();
				m.cfaOffset = c.sleb() * dataAlign;
				m.cfaKind = CFA_RSP;
				break;
			case 0x13:
				m.cfaOffset = c.sleb() * dataAlign;
				if (m.cfaKind === CFA_PLT) m.cfaKind = CFA_UNSUPPORTED;
				break;
			case 0x14:
			case 0x15: {
				// val_offset(_sf): the value is CFA+n, not stored at it
				const reg = c.uleb();
				if (op === 0x14) c.uleb();
				else c.sleb();
				m.setReg(reg, 3, 0);
				break;
			}
			case 0x2e: // GNU_args_size
				c.uleb();
				break;
			case 0x2f: {
				// GNU_negative_offset_extended
				const reg = c.uleb();
				m.setReg(reg, 0, -c.uleb() * dataAlign);
				break;
			}
			default:
				// An opcode we do not know: from here on, nothing is certain.
				m.cfaKind = CFA_UNSUPPORTED;
				c.pos = c.end;
				break;
		}
	}
	m.emit();
}

/** Offset of one FDE's rows and its address range, for sorting. */
interface FdeRows {
	readonly start: number;
	readonly end: number;
	readonly first: number;
	readonly count: number;
	/** 0 for .eh_frame, 1 for .debug_frame: .eh_frame wins where both cover. */
	readonly priority: number;
}

/**
 * Runs one FDE, whose body after the CIE pointer is at `c`, and appends its
 * rows to `sink`; its address range, or undefined for an empty one. On an
 * error the sink is as it was. Throws EntryError (or CfiError: too large).
 */
function compileFde(c: Cursor, cie: Cie, isEh: boolean, bases: Bases, machine: Machine, cursor: Cursor, sink: RowSink): { start: number; end: number } | undefined {
	const start = isEh ? readEncoded(c, cie.fdeEncoding, bases, false) : c.u64();
	const range = isEh ? readEncoded(c, cie.fdeEncoding & 0x0f, bases, true) : c.u64();
	if (range < 0 || !Number.isSafeInteger(start + range)) throw new EntryError("FDE range");
	if (cie.hasAugmentationData) {
		const len = c.uleb();
		c.need(len);
		c.pos += len;
	}
	if (range === 0) return undefined;
	machine.reset(cie);
	cursor.pos = cie.insStart;
	cursor.end = cie.insEnd;
	execute(cursor, cie, machine, bases, isEh);
	machine.markInitial();
	const fdeStart = sink.n;
	machine.startFde(sink, start, start + range);
	try {
		execute(c, cie, machine, bases, isEh);
	} catch (error) {
		sink.n = fdeStart;
		throw error;
	}
	return { start, end: start + range };
}

/**
 * Compiles single FDEs of one .eh_frame on demand, by their offset in the
 * section (as .eh_frame_hdr gives them), into a sink that grows with them.
 * CIEs are parsed once each. Every read is bounded as in {@link compileCfi}.
 */
export class FdeCompiler {
	readonly sink = new RowSink(256);
	private readonly view: DataView;
	private readonly size: number;
	private readonly bases: Bases;
	private readonly cies = new Map<number, Cie | null>();
	private readonly machine = new Machine();
	private readonly cursor: Cursor;
	private readonly c: Cursor;

	constructor(ehFrame: CfiSection, input: CfiInput) {
		const bytes = ehFrame.bytes;
		this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		this.size = bytes.byteLength;
		this.bases = { sectionVaddr: ehFrame.vaddr, textVaddr: input.textVaddr, dataVaddr: input.dataVaddr };
		this.cursor = new Cursor(this.view, 0, 0);
		this.c = new Cursor(this.view, 0, 0);
	}

	/**
	 * Appends the rows of the FDE at `offset` to {@link sink}; its address
	 * range, or undefined when the entry is empty, malformed or unsupported.
	 * Throws CfiError when the rows outgrow their bound.
	 */
	compileAt(offset: number): { start: number; end: number } | undefined {
		if (!(Number.isInteger(offset) && offset >= 0 && this.size - offset >= 8)) return undefined;
		const length = this.view.getUint32(offset, true);
		// A 64-bit length would be a 4 GiB entry: no .eh_frame_hdr points at one.
		if (length < 4 || length === 0xffff_ffff || length > this.size - offset - 4) return undefined;
		const c = this.c;
		c.pos = offset + 4;
		c.end = offset + 4 + length;
		try {
			const idPos = c.pos;
			const id = c.u32();
			if (id === 0) return undefined;
			const ciePos = idPos - id;
			let cie = this.cies.get(ciePos);
			if (cie === undefined) cie = parseCieAt(this.view, this.size, ciePos, true, this.bases, this.cies);
			if (!cie) return undefined;
			return compileFde(c, cie, true, this.bases, this.machine, this.cursor, this.sink);
		} catch (error) {
			if (error instanceof EntryError) return undefined;
			throw error;
		}
	}
}

function walkSection(section: CfiSection, isEh: boolean, input: CfiInput, sink: RowSink, fdes: FdeRows[], priority: number): number {
	const bytes = section.bytes;
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const bases: Bases = { sectionVaddr: section.vaddr, textVaddr: input.textVaddr, dataVaddr: input.dataVaddr };
	const cies = new Map<number, Cie | null>();
	const machine = new Machine();
	const cursor = new Cursor(view, 0, 0);
	const c = new Cursor(view, 0, 0);
	let skipped = 0;
	let pos = 0;
	// Each step advances by at least 4 bytes, so this ends.
	while (bytes.length - pos >= 4) {
		const entryStart = pos;
		let length = view.getUint32(pos, true);
		pos += 4;
		let is64 = false;
		if (length === 0xffff_ffff) {
			if (bytes.length - pos < 8) return skipped + 1;
			const hi = view.getUint32(pos + 4, true);
			length = hi === 0 ? view.getUint32(pos, true) : Number.POSITIVE_INFINITY;
			pos += 8;
			is64 = true;
		}
		if (length === 0) {
			// .eh_frame's terminator; .debug_frame has none, so go on there.
			if (isEh) break;
			continue;
		}
		if (length > bytes.length - pos) return skipped + 1;
		const end = pos + length;
		const idPos = pos;
		try {
			c.pos = pos;
			c.end = end;
			const id = is64 ? c.u64() : c.u32();
			const isCie = isEh ? id === 0 : is64 ? false : id === 0xffff_ffff;
			if (isCie) {
				if (!cies.has(entryStart)) {
					if (cies.size >= MAX_CIES) throw new EntryError("too many CIEs");
					try {
						cies.set(entryStart, readCie(c, isEh, bases));
					} catch (error) {
						if (!(error instanceof EntryError)) throw error;
						cies.set(entryStart, null);
						skipped++;
					}
				}
			} else {
				const ciePos = isEh ? idPos - id : id;
				let cie = cies.get(ciePos);
				if (cie === undefined) cie = parseCieAt(view, bytes.length, ciePos, isEh, bases, cies);
				if (!cie) throw new EntryError("FDE without a usable CIE");
				const fdeStart = sink.n;
				const fde = compileFde(c, cie, isEh, bases, machine, cursor, sink);
				if (fde) fdes.push({ start: fde.start, end: fde.end, first: fdeStart, count: sink.n - fdeStart, priority });
			}
		} catch (error) {
			if (!(error instanceof EntryError)) throw error;
			skipped++;
		}
		pos = end;
	}
	return skipped;
}

/** A CIE that comes after its FDE (allowed) or one we have not met yet. */
function parseCieAt(view: DataView, size: number, at: number, isEh: boolean, bases: Bases, cies: Map<number, Cie | null>): Cie | null {
	if (!(at >= 0 && at + 8 <= size) || cies.size >= MAX_CIES) return null;
	let cie: Cie | null = null;
	try {
		const length = view.getUint32(at, true);
		if (length === 0 || length === 0xffff_ffff || length > size - at - 4) throw new EntryError("CIE length");
		const c = new Cursor(view, at + 4, at + 4 + length);
		const id = c.u32();
		if (id !== (isEh ? 0 : 0xffff_ffff)) throw new EntryError("not a CIE");
		cie = readCie(c, isEh, bases);
	} catch (error) {
		if (!(error instanceof EntryError)) throw error;
	}
	cies.set(at, cie);
	return cie;
}

/**
 * Compiles the CFI of one file. Throws {@link CfiError} when there is none
 * usable at all; otherwise entries that fail are skipped and counted in
 * {@link UnwindTable.skipped}.
 */
export function compileCfi(input: CfiInput): UnwindTable {
	const total = (input.ehFrame?.bytes.length ?? 0) + (input.debugFrame?.bytes.length ?? 0);
	// A row costs at least one byte of instructions or one FDE of at least 16 bytes.
	const sink = new RowSink(Math.min(1 << 16, Math.max(16, total >> 3)));
	const fdes: FdeRows[] = [];
	let skipped = 0;
	if (input.ehFrame) skipped += walkSection(input.ehFrame, true, input, sink, fdes, 0);
	if (input.debugFrame) skipped += walkSection(input.debugFrame, false, input, sink, fdes, 1);
	if (fdes.length === 0) {
		if (skipped > 0) throw new CfiError("malformed", `no usable FDE (${skipped} entries skipped)`);
		throw new CfiError("unsupported", "no FDE");
	}
	fdes.sort((a, b) => a.start - b.start || a.priority - b.priority);
	// Rows plus one terminator per FDE at most.
	let capacity = 0;
	for (const f of fdes) capacity += f.count + 1;
	const pcs = new Float64Array(capacity);
	const kinds = new Uint8Array(capacity);
	const cfa = new Int32Array(capacity);
	const rbp = new Int32Array(capacity);
	let n = 0;
	let coveredTo = -1;
	let used = 0;
	for (const f of fdes) {
		// Overlaps (a .debug_frame copy of an .eh_frame FDE, or hostile input): the first wins.
		if (f.start < coveredTo) {
			skipped += f.priority === 0 ? 1 : 0;
			continue;
		}
		if (n > 0 && pcs[n - 1] === f.start && (kinds[n - 1] & 7) === CFA_NONE) n--;
		for (let i = f.first; i < f.first + f.count; i++) {
			pcs[n] = sink.pcs[i];
			kinds[n] = sink.kinds[i];
			cfa[n] = sink.cfa[i];
			rbp[n] = sink.rbp[i];
			n++;
		}
		pcs[n] = f.end;
		kinds[n] = CFA_NONE;
		cfa[n] = 0;
		rbp[n] = 0;
		n++;
		coveredTo = f.end;
		used++;
	}
	return new UnwindTable(pcs.slice(0, n), kinds.slice(0, n), cfa.slice(0, n), rbp.slice(0, n), used, skipped);
}

/** The rows of one address as the unwinder reads them, for tests and debugging. */
export interface RowView {
	readonly cfa: "rsp" | "rbp" | "plt" | "signal" | "unsupported";
	readonly cfaOffset: number;
	readonly rbp: "same" | "at-cfa" | "undefined" | "unsupported";
	readonly rbpOffset: number;
	readonly ra: "cfa-8" | "undefined" | "unsupported";
}

/** Describes row `i` of `table`. */
export function describeRow(table: UnwindTable, i: number): RowView {
	const k = table.kinds[i];
	const cfaNames = ["none", "rsp", "rbp", "plt", "signal", "unsupported"] as const;
	const c = cfaNames[k & 7] ?? "unsupported";
	return {
		cfa: c === "none" ? "unsupported" : c,
		cfaOffset: table.cfaOffsets[i],
		rbp: (["same", "at-cfa", "undefined", "unsupported"] as const)[(k >> 3) & 3],
		rbpOffset: table.rbpOffsets[i],
		ra: (["cfa-8", "undefined", "unsupported", "unsupported"] as const)[(k >> 5) & 3],
	};
}
