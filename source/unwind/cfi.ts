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
	pos: number;
	end: number;

	constructor(view: DataView, pos: number, end: number) {
		this.view = view;
		this.pos = pos;
		this.end = end;
	}

	need(n: number): void {
		if (n > this.end - this.pos) throw new EntryError("entry ends early");
	}

	u8(): number {
		this.need(1);
		return this.view.getUint8(this.pos++);
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
	const aug = new TextDecoder("latin1").decode(new Uint8Array(c.view.buffer, c.view.byteOffset + augStart, c.pos - 1 - augStart));
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

/** Rows of one FDE, before they are sorted with the others. */
class RowSink {
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

/** The register rules the unwinder can use, as the interpreter tracks them. */
interface State {
	cfaKind: number;
	cfaReg: number;
	cfaOffset: number;
	rbpRule: number;
	rbpOffset: number;
	raRule: number;
	raOffset: number;
}

function copyState(s: State): State {
	return { ...s };
}

const INITIAL: State = {
	cfaKind: CFA_UNSUPPORTED,
	cfaReg: -1,
	cfaOffset: 0,
	rbpRule: RBP_SAME,
	rbpOffset: 0,
	raRule: RA_UNSUPPORTED,
	raOffset: 0,
};

function fitsI32(n: number): boolean {
	return n >= -0x8000_0000 && n <= 0x7fff_ffff;
}

/** The row kind and offsets of a state. */
function encode(s: State, signal: boolean): { kind: number; cfa: number; rbp: number } {
	if (signal) return { kind: CFA_SIGNAL, cfa: 0, rbp: 0 };
	let cfaKind = s.cfaKind;
	if (cfaKind === CFA_RSP || cfaKind === CFA_RBP) {
		cfaKind = s.cfaReg === REG_RSP ? CFA_RSP : s.cfaReg === REG_RBP ? CFA_RBP : CFA_UNSUPPORTED;
	}
	if (!fitsI32(s.cfaOffset)) cfaKind = CFA_UNSUPPORTED;
	let raRule = s.raRule;
	if (raRule === RA_AT_CFA_MINUS_8 && s.raOffset !== -8) raRule = RA_UNSUPPORTED;
	let rbpRule = s.rbpRule;
	if (rbpRule === RBP_AT_CFA && !fitsI32(s.rbpOffset)) rbpRule = RBP_UNSUPPORTED;
	const cfa = cfaKind === CFA_UNSUPPORTED ? 0 : s.cfaOffset;
	const rbp = cfaKind === CFA_PLT ? s.rbpOffset : rbpRule === RBP_AT_CFA ? s.rbpOffset : 0;
	return { kind: cfaKind | (cfaKind === CFA_PLT ? RBP_SAME : rbpRule) | raRule, cfa, rbp };
}

/**
 * The expression binutils' ld emits for the lazy PLT: CFA = rsp + N, plus 8
 * once the entry has pushed its index ((rip & 15) >= K). Returns [N, K].
 */
function pltExpression(c: Cursor, len: number): [number, number] | undefined {
	const end = c.pos + len;
	const e = new Cursor(c.view, c.pos, end);
	try {
		if (e.u8() !== 0x77) return undefined; // DW_OP_breg7 (rsp)
		const n = e.sleb();
		if (e.u8() !== 0x80) return undefined; // DW_OP_breg16 (rip)
		if (e.sleb() !== 0) return undefined;
		if (e.u8() !== 0x3f) return undefined; // DW_OP_lit15
		if (e.u8() !== 0x1a) return undefined; // DW_OP_and
		const lit = e.u8(); // DW_OP_litK
		if (lit < 0x30 || lit > 0x4f) return undefined;
		if (e.u8() !== 0x2a) return undefined; // DW_OP_ge
		if (e.u8() !== 0x33) return undefined; // DW_OP_lit3
		if (e.u8() !== 0x24) return undefined; // DW_OP_shl
		if (e.u8() !== 0x22) return undefined; // DW_OP_plus
		if (e.pos !== end || !fitsI32(n)) return undefined;
		return [n, lit - 0x30];
	} catch {
		return undefined;
	}
}

/**
 * Runs CFA instructions in [c.pos, c.end). With `sink`, emits a row at each
 * address change from `pc` up to `pcEnd`; without, only builds the state
 * (a CIE's initial instructions).
 */
function execute(
	c: Cursor,
	cie: Cie,
	state: State,
	initial: State,
	bases: Bases,
	isEh: boolean,
	sink: RowSink | undefined,
	pc: number,
	pcEnd: number,
	fdeStart: number,
): void {
	const stack: State[] = [];
	let loc = pc;
	const emit = () => {
		if (!sink || loc >= pcEnd) return;
		const r = encode(state, cie.signal);
		sink.push(loc, r.kind, r.cfa, r.rbp, fdeStart);
	};
	const advance = (delta: number) => {
		emit();
		loc += delta * cie.codeAlign;
	};
	const setReg = (reg: number, rule: "offset" | "undefined" | "same" | "unsupported" | "restore", offset = 0) => {
		if (reg === REG_RBP) {
			if (rule === "offset") {
				state.rbpRule = RBP_AT_CFA;
				state.rbpOffset = offset;
			} else if (rule === "undefined") state.rbpRule = RBP_UNDEFINED;
			else if (rule === "same") state.rbpRule = RBP_SAME;
			else if (rule === "restore") {
				state.rbpRule = initial.rbpRule;
				state.rbpOffset = initial.rbpOffset;
			} else state.rbpRule = RBP_UNSUPPORTED;
		} else if (reg === cie.raRegister) {
			if (rule === "offset") {
				state.raRule = RA_AT_CFA_MINUS_8;
				state.raOffset = offset;
			} else if (rule === "undefined") state.raRule = RA_UNDEFINED;
			else if (rule === "restore") {
				state.raRule = initial.raRule;
				state.raOffset = initial.raOffset;
			} else state.raRule = RA_UNSUPPORTED;
		}
	};
	while (c.pos < c.end) {
		const op = c.u8();
		const high = op & 0xc0;
		const low = op & 0x3f;
		if (high === 0x40) {
			advance(low);
			continue;
		}
		if (high === 0x80) {
			setReg(low, "offset", c.uleb() * cie.dataAlign);
			continue;
		}
		if (high === 0xc0) {
			setReg(low, "restore");
			continue;
		}
		switch (op) {
			case 0x00: // nop
				break;
			case 0x01: {
				// set_loc
				const to = isEh ? readEncoded(c, cie.fdeEncoding, bases, false) : c.u64();
				if (to < loc) throw new EntryError("set_loc backwards");
				emit();
				loc = to;
				break;
			}
			case 0x02:
				advance(c.u8());
				break;
			case 0x03:
				advance(c.u16());
				break;
			case 0x04:
				advance(c.u32());
				break;
			case 0x05: {
				const reg = c.uleb();
				setReg(reg, "offset", c.uleb() * cie.dataAlign);
				break;
			}
			case 0x06:
				setReg(c.uleb(), "restore");
				break;
			case 0x07:
				setReg(c.uleb(), "undefined");
				break;
			case 0x08:
				setReg(c.uleb(), "same");
				break;
			case 0x09: {
				const reg = c.uleb();
				c.uleb();
				setReg(reg, "unsupported");
				break;
			}
			case 0x0a:
				if (stack.length >= MAX_REMEMBER_DEPTH) throw new EntryError("remember_state too deep");
				stack.push(copyState(state));
				break;
			case 0x0b: {
				const saved = stack.pop();
				if (!saved) throw new EntryError("restore_state without remember_state");
				Object.assign(state, saved);
				break;
			}
			case 0x0c:
				state.cfaReg = c.uleb();
				state.cfaOffset = c.uleb();
				state.cfaKind = CFA_RSP;
				break;
			case 0x0d:
				state.cfaReg = c.uleb();
				if (state.cfaKind !== CFA_RSP && state.cfaKind !== CFA_RBP) state.cfaKind = CFA_UNSUPPORTED;
				break;
			case 0x0e:
				state.cfaOffset = c.uleb();
				if (state.cfaKind === CFA_PLT) state.cfaKind = CFA_UNSUPPORTED;
				break;
			case 0x0f: {
				const len = c.uleb();
				c.need(len);
				const plt = pltExpression(c, len);
				if (plt) {
					state.cfaKind = CFA_PLT;
					state.cfaReg = REG_RSP;
					state.cfaOffset = plt[0];
					state.rbpOffset = plt[1];
				} else state.cfaKind = CFA_UNSUPPORTED;
				c.pos += len;
				break;
			}
			case 0x10:
			case 0x16: {
				// expression, val_expression
				const reg = c.uleb();
				const len = c.uleb();
				c.need(len);
				c.pos += len;
				setReg(reg, "unsupported");
				break;
			}
			case 0x11: {
				const reg = c.uleb();
				setReg(reg, "offset", c.sleb() * cie.dataAlign);
				break;
			}
			case 0x12:
				state.cfaReg = c.uleb();
				state.cfaOffset = c.sleb() * cie.dataAlign;
				state.cfaKind = CFA_RSP;
				break;
			case 0x13:
				state.cfaOffset = c.sleb() * cie.dataAlign;
				if (state.cfaKind === CFA_PLT) state.cfaKind = CFA_UNSUPPORTED;
				break;
			case 0x14:
			case 0x15: {
				// val_offset(_sf): the value is CFA+n, not stored at it
				const reg = c.uleb();
				if (op === 0x14) c.uleb();
				else c.sleb();
				setReg(reg, "unsupported");
				break;
			}
			case 0x2e: // GNU_args_size
				c.uleb();
				break;
			case 0x2f: {
				// GNU_negative_offset_extended
				const reg = c.uleb();
				setReg(reg, "offset", -c.uleb() * cie.dataAlign);
				break;
			}
			default:
				// An opcode we do not know: from here on, nothing is certain.
				state.cfaKind = CFA_UNSUPPORTED;
				c.pos = c.end;
				break;
		}
	}
	emit();
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

function walkSection(section: CfiSection, isEh: boolean, input: CfiInput, sink: RowSink, fdes: FdeRows[], priority: number): number {
	const bytes = section.bytes;
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const bases: Bases = { sectionVaddr: section.vaddr, textVaddr: input.textVaddr, dataVaddr: input.dataVaddr };
	const cies = new Map<number, Cie | null>();
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
			const c = new Cursor(view, pos, end);
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
				const start = isEh ? readEncoded(c, cie.fdeEncoding, bases, false) : c.u64();
				const range = isEh ? readEncoded(c, cie.fdeEncoding & 0x0f, bases, true) : c.u64();
				if (range < 0 || !Number.isSafeInteger(start + range)) throw new EntryError("FDE range");
				if (cie.hasAugmentationData) {
					const len = c.uleb();
					c.need(len);
					c.pos += len;
				}
				if (range > 0) {
					const initial = copyState(INITIAL);
					const ci = new Cursor(view, cie.insStart, cie.insEnd);
					const fdeStart = sink.n;
					execute(ci, cie, initial, initial, bases, isEh, undefined, start, start + range, fdeStart);
					const state = copyState(initial);
					try {
						execute(c, cie, state, initial, bases, isEh, sink, start, start + range, fdeStart);
					} catch (error) {
						sink.n = fdeStart;
						throw error;
					}
					fdes.push({ start, end: start + range, first: fdeStart, count: sink.n - fdeStart, priority });
				}
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
