/**
 * Kernel symbols from /proc/kallsyms.
 *
 * Kernel addresses are above 2^53, so they cannot be plain numbers. Parsed
 * addresses are kept as number offsets from the lowest text symbol (the
 * kernel's text and modules span far less than 2^53 bytes), and lookups take
 * the sample's bigint address.
 *
 * The table is compact because tsprof keeps it for its whole run: 120k+
 * symbols as typed arrays (start offsets, name offsets, module indexes) and
 * one buffer of all names back to back, about 35 bytes a symbol. A name
 * becomes a string only when a lookup returns it. The file is parsed as bytes,
 * a chunk at a time, never as one string or one line per string.
 */
import fs from "node:fs";
import { compareSymbolPreference, DEFAULT_MAX_IMPLICIT_SIZE, sortIndexesByKey } from "./symbol-table.js";

/** The kernel symbol covering an address. `module` is absent for the core kernel image. */
export interface KernelSymbolHit {
	readonly name: string;
	readonly module?: string;
	readonly offset: number;
}

/** Options for {@link parseKallsyms}. */
export interface KallsymsOptions {
	/**
	 * How far a symbol may reach when the next one is farther away. kallsyms has
	 * no sizes: each symbol runs to the next, and the last one of a module would
	 * otherwise swallow the gap to the next module.
	 */
	readonly maxSymbolSize?: number;
}

/** The reason given when kptr_restrict zeroes every address. */
export const KALLSYMS_HIDDEN = "kallsyms hidden";

/** One text symbol for {@link KernelSymbols}: its address as an offset from the table's base. */
export interface KernelSymbolEntry {
	readonly name: string;
	readonly offset: number;
	/** The kallsyms type letter (t, T, w, W); picks among aliases. */
	readonly type: string;
	readonly module?: string;
}

/** Why a {@link KernelSymbols} table is empty or partial. */
export interface KernelSymbolsStatus {
	/** Why there are no symbols (hidden addresses, unreadable file), if so. */
	readonly unavailableReason?: string;
	/** Lines that did not parse as `ADDRESS TYPE NAME [MODULE]`. */
	readonly malformedLines?: number;
}

/** Type letter -> rank among aliases, or -1 for a type that is not text. */
function typeRank(type: string): number {
	return type.length === 1 ? typeRankOfByte(type.charCodeAt(0)) : -1;
}

function typeRankOfByte(code: number): number {
	// perf's preference: global before local, weak last. Everything else is data.
	switch (code) {
		case 0x54: // T
			return 2;
		case 0x74: // t
			return 1;
		case 0x57: // W
		case 0x77: // w
			return 0;
		default:
			return -1;
	}
}

const TWO_32 = 0x1_0000_0000;
const MAX_SAFE_DELTA = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The stored table, sorted by start, one symbol per start. Symbol i's name is
 * `names[nameOffsets[i], nameOffsets[i + 1])` (UTF-8); its module is
 * `moduleNames[modules[i] - 1]`, none when `modules[i]` is 0. It ends at the
 * next start or `maxSymbolSize` past its own, whichever is first.
 */
interface CompactTable {
	/** Offsets from the base; Uint32 when they all fit (kernel text and modules span ~1 GiB). */
	readonly starts: Float64Array | Uint32Array;
	readonly nameOffsets: Uint32Array;
	readonly names: Buffer;
	readonly modules: Uint16Array | Uint32Array;
	readonly moduleNames: readonly string[];
}

const EMPTY_TABLE: CompactTable = {
	starts: new Uint32Array(0),
	nameOffsets: new Uint32Array(1),
	names: Buffer.alloc(0),
	modules: new Uint16Array(0),
	moduleNames: [],
};

// Collected symbols are stored in blocks, so that growing never copies
// (nor leaves the old copy behind until the next GC).
const ENTRY_BLOCK_BITS = 13;
const ENTRY_BLOCK = 1 << ENTRY_BLOCK_BITS;
// Words per collected symbol: address high and low halves, rank | module << 2
// (module ids stay far below 2^30), names block, end of the name in that block.
const ENTRY_WORDS = 5;
const NAME_BLOCK = 1 << 18;

/**
 * Text symbols as they come, before sorting and de-duplication: per symbol a
 * 64-bit address as two 32-bit halves, the type's rank, the module (index + 1,
 * 0 for none) and where its name is. Names are stored back to back in blocks;
 * a name starts where the previous symbol's ends, or at 0 in a new block.
 */
class SymbolCollector {
	count = 0;
	readonly moduleNames: string[] = [];
	readonly #moduleIds = new Map<string, number>();
	readonly #entries: Uint32Array[] = [];
	readonly #nameBlocks: Buffer[] = [];
	#names: Buffer = Buffer.alloc(0);
	#namesLength = 0;

	/** Index + 1 of a module name, interned. */
	moduleId(name: string): number {
		let id = this.#moduleIds.get(name);
		if (id === undefined) {
			this.moduleNames.push(name);
			id = this.moduleNames.length;
			this.#moduleIds.set(name, id);
		}
		return id;
	}

	#reserveName(bytes: number): void {
		if (this.#namesLength + bytes <= this.#names.length) return;
		this.#names = Buffer.allocUnsafe(Math.max(NAME_BLOCK, bytes));
		this.#nameBlocks.push(this.#names);
		this.#namesLength = 0;
	}

	/** Appends the next symbol's name from bytes; {@link push} then completes it. */
	appendNameBytes(source: Uint8Array, start: number, end: number): void {
		this.#reserveName(end - start);
		const names = this.#names;
		let at = this.#namesLength;
		for (let i = start; i < end; i++) names[at++] = source[i];
		this.#namesLength = at;
	}

	appendNameString(name: string): void {
		this.#reserveName(Buffer.byteLength(name, "utf8"));
		this.#namesLength += this.#names.write(name, this.#namesLength, "utf8");
	}

	push(hi: number, lo: number, rank: number, module: number): void {
		const i = this.count;
		const slot = (i & (ENTRY_BLOCK - 1)) * ENTRY_WORDS;
		if (slot === 0) this.#entries.push(new Uint32Array(ENTRY_BLOCK * ENTRY_WORDS));
		const block = this.#entries[i >>> ENTRY_BLOCK_BITS];
		block[slot] = hi;
		block[slot + 1] = lo;
		block[slot + 2] = rank | (module << 2);
		block[slot + 3] = this.#nameBlocks.length - 1;
		block[slot + 4] = this.#namesLength;
		this.count = i + 1;
	}

	/** Word `word` of symbol i. */
	#word(i: number, word: number): number {
		return this.#entries[i >>> ENTRY_BLOCK_BITS][(i & (ENTRY_BLOCK - 1)) * ENTRY_WORDS + word];
	}

	#nameStart(i: number): number {
		return i > 0 && this.#word(i - 1, 3) === this.#word(i, 3) ? this.#word(i - 1, 4) : 0;
	}

	#name(i: number): string {
		return this.#nameBlocks[this.#word(i, 3)].toString("utf8", this.#nameStart(i), this.#word(i, 4));
	}

	/** The lowest address, as [high half, low half]. */
	lowest(): [number, number] {
		let baseHi = this.#word(0, 0);
		let baseLo = this.#word(0, 1);
		for (let i = 1; i < this.count; i++) {
			const hi = this.#word(i, 0);
			const lo = this.#word(i, 1);
			if (hi < baseHi || (hi === baseHi && lo < baseLo)) {
				baseHi = hi;
				baseLo = lo;
			}
		}
		return [baseHi, baseLo];
	}

	// compact() runs once per process, mostly before the JIT has seen its code:
	// each loop is a function of its own, so that optimizing one loop (on-stack
	// replacement) does not compile the loops after it without type feedback,
	// only to throw that code away on reaching them.

	/**
	 * Sorts by address relative to `base` (given as halves), keeps the preferred
	 * alias at each address, and packs the result. Symbols whose offset is not
	 * an exact number are left out and counted in `unsafe`.
	 */
	compact(baseHi: number, baseLo: number): { table: CompactTable; unsafe: number } {
		const offsets = new Float64Array(this.count);
		const { indexes, sorted, highest } = this.#offsets(baseHi, baseLo, offsets);
		const unsafe = this.count - indexes.length;
		// Stable, so that aliases keep their input order.
		if (!sorted) sortIndexesByKey(indexes, offsets);
		const chosen = indexes.subarray(0, this.#dedupe(indexes, offsets));
		const m = chosen.length;
		if (m === 0) return { table: EMPTY_TABLE, unsafe };
		const table = {
			starts: highest < TWO_32 ? new Uint32Array(m) : new Float64Array(m),
			nameOffsets: new Uint32Array(m + 1),
			names: Buffer.allocUnsafe(this.#totalNameBytes(chosen)),
			modules: this.moduleNames.length < 0xffff ? new Uint16Array(m) : new Uint32Array(m),
			moduleNames: this.moduleNames,
		};
		this.#pack(chosen, offsets, table);
		return { table, unsafe };
	}

	/**
	 * Fills `offsets` (by symbol) and returns the symbols whose offset is exact,
	 * in input order, whether that is sorted, and the highest offset.
	 */
	#offsets(
		baseHi: number,
		baseLo: number,
		offsets: Float64Array,
	): { indexes: Uint32Array; sorted: boolean; highest: number } {
		const indexes = new Uint32Array(this.count);
		let valid = 0;
		let sorted = true;
		let highest = 0;
		for (let i = 0; i < this.count; i++) {
			const offset = (this.#word(i, 0) - baseHi) * TWO_32 + (this.#word(i, 1) - baseLo);
			if (!Number.isSafeInteger(offset) || offset < 0) continue;
			offsets[i] = offset;
			if (offset < highest) sorted = false;
			else highest = offset;
			indexes[valid++] = i;
		}
		return { indexes: indexes.subarray(0, valid), sorted, highest };
	}

	/**
	 * One symbol per address, in place in the sorted `indexes`: the first one
	 * unless a later alias is preferred. Returns how many are left.
	 */
	#dedupe(indexes: Uint32Array, offsets: Float64Array): number {
		let m = 0;
		for (let k = 0; k < indexes.length; k++) {
			const i = indexes[k];
			if (m > 0 && offsets[indexes[m - 1]] === offsets[i]) {
				if (this.#prefer(i, indexes[m - 1])) indexes[m - 1] = i;
			} else {
				indexes[m++] = i;
			}
		}
		return m;
	}

	#totalNameBytes(chosen: Uint32Array): number {
		let total = 0;
		for (let k = 0; k < chosen.length; k++) total += this.#word(chosen[k], 4) - this.#nameStart(chosen[k]);
		return total;
	}

	/** Fills `table` with the `chosen` symbols, in order. */
	#pack(chosen: Uint32Array, offsets: Float64Array, table: CompactTable): void {
		const { starts, nameOffsets, names, modules } = table;
		let at = 0;
		// Consecutive symbols' names are adjacent in a block: copy them a run at
		// a time (mostly whole blocks, as kallsyms comes nearly sorted).
		let runBlock = -1;
		let runFrom = 0;
		let runEnd = 0;
		let runTo = 0;
		for (let k = 0; k < chosen.length; k++) {
			const i = chosen[k];
			const block = this.#word(i, 3);
			const nameStart = this.#nameStart(i);
			const nameEnd = this.#word(i, 4);
			if (block !== runBlock || nameStart !== runEnd) {
				if (runBlock >= 0) this.#nameBlocks[runBlock].copy(names, runTo, runFrom, runEnd);
				runBlock = block;
				runFrom = nameStart;
				runTo = at;
			}
			runEnd = nameEnd;
			starts[k] = offsets[i];
			modules[k] = this.#word(i, 2) >>> 2;
			nameOffsets[k] = at;
			at += nameEnd - nameStart;
		}
		if (runBlock >= 0) this.#nameBlocks[runBlock].copy(names, runTo, runFrom, runEnd);
		nameOffsets[chosen.length] = at;
	}

	/** Whether symbol a is preferred over symbol b at the same address. */
	#prefer(a: number, b: number): boolean {
		const entry = (i: number) => ({ name: this.#name(i), start: 0, size: 0, rank: this.#word(i, 2) & 3 });
		return compareSymbolPreference(entry(a), entry(b)) < 0;
	}
}

// Set in KernelSymbols' static block: builds a table from packed arrays.
let adoptTable: (base: bigint, table: CompactTable, status: KernelSymbolsStatus, options: KallsymsOptions) => KernelSymbols;

/**
 * Kernel text symbols, sorted, with binary-search lookup. When kallsyms is
 * unavailable or hidden the table is empty and `unavailableReason` says why,
 * so a caller can print `[unknown] (kallsyms hidden)`.
 */
export class KernelSymbols {
	/** Why there are no symbols (hidden addresses, unreadable file), if so. */
	readonly unavailableReason: string | undefined;
	/** Lines that did not parse as `ADDRESS TYPE NAME [MODULE]`. */
	readonly malformedLines: number;
	readonly #base: bigint;
	readonly #maxSymbolSize: number;
	#table: CompactTable;

	static {
		adoptTable = (base, table, status, options) => {
			const symbols = new KernelSymbols(base, [], status, options);
			symbols.#table = table;
			return symbols;
		};
	}

	/**
	 * `base` is the address that entry offsets are relative to. Entries of a
	 * non-text type are ignored; among aliases at one address the best is kept.
	 */
	constructor(
		base: bigint,
		entries: Iterable<KernelSymbolEntry>,
		status: KernelSymbolsStatus = {},
		options: KallsymsOptions = {},
	) {
		this.#maxSymbolSize = Math.max(1, options.maxSymbolSize ?? DEFAULT_MAX_IMPLICIT_SIZE);
		this.#base = base;
		this.malformedLines = status.malformedLines ?? 0;
		this.unavailableReason = status.unavailableReason;
		const collector = new SymbolCollector();
		for (const entry of entries) {
			const rank = typeRank(entry.type);
			const offset = entry.offset;
			if (rank < 0 || !Number.isSafeInteger(offset) || offset < 0) continue;
			const module = entry.module === undefined ? 0 : collector.moduleId(entry.module);
			collector.appendNameString(entry.name);
			const hi = Math.floor(offset / TWO_32);
			collector.push(hi, offset - hi * TWO_32, rank, module);
		}
		this.#table = collector.count === 0 ? EMPTY_TABLE : collector.compact(0, 0).table;
	}

	/** Number of distinct text symbols. */
	get size(): number {
		return this.#table.starts.length;
	}

	/** The lowest text address, which offsets are relative to (0n when empty). */
	get base(): bigint {
		return this.#base;
	}

	/** The symbol covering a kernel address, or undefined. */
	lookup(addr: bigint): KernelSymbolHit | undefined {
		const table = this.#table;
		const starts = table.starts;
		const n = starts.length;
		if (n === 0) return undefined;
		const delta = addr - this.#base;
		if (delta < 0n || delta > MAX_SAFE_DELTA) return undefined;
		const off = Number(delta);
		if (off < starts[0]) return undefined;
		let lo = 0;
		let hi = n - 1;
		while (lo < hi) {
			const mid = (lo + hi + 1) >>> 1;
			if (starts[mid] <= off) lo = mid;
			else hi = mid - 1;
		}
		const start = starts[lo];
		const next = lo + 1 < n ? starts[lo + 1] : Number.POSITIVE_INFINITY;
		if (off >= Math.min(next, start + this.#maxSymbolSize)) return undefined;
		const name = table.names.toString("utf8", table.nameOffsets[lo], table.nameOffsets[lo + 1]);
		const module = table.modules[lo];
		return module === 0 ? { name, offset: off - start } : { name, offset: off - start, module: table.moduleNames[module - 1] };
	}
}

const NEWLINE = 0x0a;

function isSpace(code: number): boolean {
	return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

// Byte -> hex digit value, or -1.
const HEX_DIGITS = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit++) {
	HEX_DIGITS[digit.toString(16).charCodeAt(0)] = digit;
	HEX_DIGITS[digit.toString(16).toUpperCase().charCodeAt(0)] = digit;
}

/**
 * kallsyms lines, as bytes, into a {@link SymbolCollector}. A line is
 * `ADDRESS TYPE NAME [MODULE]`, fields split at ASCII whitespace, lines at
 * `\n`. A name or module is the UTF-8 text between its separators, and a
 * line is valid or malformed exactly as if the text were split as a string
 * (the type, for one, is one UTF-16 unit).
 */
class KallsymsParser {
	readonly #symbols = new SymbolCollector();
	// [start, end) of up to 5 fields of the current line.
	readonly #fields = new Int32Array(10);
	#malformed = 0;
	#parsed = 0;
	#nonZero = 0;
	#lastModule: Buffer | undefined;
	#lastModuleId = 0;

	/**
	 * Parses the lines in `bytes[0, end)`. Returns where the unfinished last
	 * line starts, for the caller to carry over to the next chunk; with `final`
	 * that line is parsed too and the result is `end`.
	 */
	parse(bytes: Buffer, end: number, final: boolean): number {
		const fields = this.#fields;
		let pos = 0;
		while (pos < end) {
			let i = pos;
			let count = 0;
			while (i < end) {
				const code = bytes[i];
				if (code === NEWLINE) break;
				if (isSpace(code)) {
					i++;
					continue;
				}
				if (count === 5) {
					// Already one field too many: the rest does not matter.
					while (i < end && bytes[i] !== NEWLINE) i++;
					break;
				}
				fields[2 * count] = i++;
				while (i < end && !isSpace(bytes[i])) i++;
				fields[2 * count + 1] = i;
				count++;
			}
			if (i >= end && !final) return pos;
			if (count > 0) this.#line(bytes, count);
			pos = i + 1;
		}
		return end;
	}

	#line(bytes: Buffer, count: number): void {
		if (count < 3 || count > 4) {
			this.#malformed++;
			return;
		}
		const fields = this.#fields;
		const addressEnd = fields[1];
		if (addressEnd - fields[0] > 16) {
			this.#malformed++;
			return;
		}
		// In pieces of at most 24 bits (the top 4, middle 6 and last 6 hex
		// digits): small integers, where 32-bit halves would be boxed numbers
		// in code that has not been optimized yet.
		let top = 0;
		let middle = 0;
		let low = 0;
		for (let i = fields[0]; i < addressEnd; i++) {
			const digit = HEX_DIGITS[bytes[i]];
			if (digit < 0) {
				this.#malformed++;
				return;
			}
			const fromEnd = addressEnd - i;
			if (fromEnd > 12) top = (top << 4) | digit;
			else if (fromEnd > 6) middle = (middle << 4) | digit;
			else low = (low << 4) | digit;
		}
		const hi = top * 0x1_0000 + (middle >>> 8);
		const lo = (middle & 0xff) * 0x100_0000 + low;
		// One character: one byte, or (rarely) one UTF-16 unit of UTF-8.
		const typeStart = fields[2];
		const typeBytes = fields[3] - typeStart;
		if (typeBytes !== 1 && bytes.toString("utf8", typeStart, fields[3]).length !== 1) {
			this.#malformed++;
			return;
		}
		let moduleStart = 0;
		let moduleEnd = 0;
		if (count === 4) {
			// `[name]`, with no `]` inside.
			moduleStart = fields[6] + 1;
			moduleEnd = fields[7] - 1;
			let ok = moduleEnd > moduleStart && bytes[moduleStart - 1] === 0x5b && bytes[moduleEnd] === 0x5d;
			for (let i = moduleStart; ok && i < moduleEnd; i++) ok = bytes[i] !== 0x5d;
			if (!ok) {
				this.#malformed++;
				return;
			}
		}
		this.#parsed++;
		if (hi === 0 && lo === 0) return;
		this.#nonZero++;
		const rank = typeBytes === 1 ? typeRankOfByte(bytes[typeStart]) : -1;
		if (rank < 0) return;
		const module = count === 4 ? this.#moduleId(bytes, moduleStart, moduleEnd) : 0;
		this.#symbols.appendNameBytes(bytes, fields[4], fields[5]);
		this.#symbols.push(hi, lo, rank, module);
	}

	/** A module's id; a module's symbols come in a run, so the last one is checked first. */
	#moduleId(bytes: Buffer, start: number, end: number): number {
		const last = this.#lastModule;
		if (last !== undefined && last.length === end - start && bytes.compare(last, 0, last.length, start, end) === 0) {
			return this.#lastModuleId;
		}
		this.#lastModule = Buffer.from(bytes.subarray(start, end));
		this.#lastModuleId = this.#symbols.moduleId(bytes.toString("utf8", start, end));
		return this.#lastModuleId;
	}

	finish(options: KallsymsOptions): KernelSymbols {
		let malformedLines = this.#malformed;
		if (this.#parsed > 0 && this.#nonZero === 0) {
			return new KernelSymbols(0n, [], { unavailableReason: KALLSYMS_HIDDEN, malformedLines }, options);
		}
		const symbols = this.#symbols;
		if (symbols.count === 0) {
			const unavailableReason = "kallsyms has no text symbols";
			return new KernelSymbols(0n, [], { unavailableReason, malformedLines }, options);
		}
		const [baseHi, baseLo] = symbols.lowest();
		// Only a stray address far from the kernel's text would not be exact.
		const { table, unsafe } = symbols.compact(baseHi, baseLo);
		malformedLines += unsafe;
		const base = (BigInt(baseHi) << 32n) | BigInt(baseLo);
		return adoptTable(base, table, { malformedLines }, options);
	}
}

/**
 * Parses kallsyms text: `ffffffff81000000 T _stext`, optionally followed by
 * `[module]`. Keeps text symbols (t, T, w, W). If every address is zero
 * (kptr_restrict), returns an empty table whose reason is {@link KALLSYMS_HIDDEN}.
 */
export function parseKallsyms(text: string, options: KallsymsOptions = {}): KernelSymbols {
	const bytes = Buffer.from(text, "utf8");
	const parser = new KallsymsParser();
	parser.parse(bytes, bytes.length, true);
	return parser.finish(options);
}

// Read size. /proc/kallsyms hands out about a page per read whatever the size;
// the buffer gathers many before a parse pass.
const CHUNK = 1 << 18;

/**
 * Reads and parses kallsyms, a chunk at a time (never the whole file at
 * once: /proc files report size 0, and only the table is kept). Never throws:
 * an unreadable file gives an empty table whose `unavailableReason` carries
 * the error.
 */
export function loadKallsyms(path = "/proc/kallsyms", options: KallsymsOptions = {}): KernelSymbols {
	const parser = new KallsymsParser();
	let fd: number | undefined;
	try {
		fd = fs.openSync(path, "r");
		let buffer = Buffer.allocUnsafe(CHUNK);
		let filled = 0;
		for (;;) {
			const read = fs.readSync(fd, buffer, filled, buffer.length - filled, null);
			if (read === 0) break;
			filled += read;
			if (filled < buffer.length) continue;
			const used = parser.parse(buffer, filled, false);
			if (used === 0) {
				// One line longer than the buffer.
				const grown = Buffer.allocUnsafe(buffer.length * 2);
				buffer.copy(grown, 0, 0, filled);
				buffer = grown;
			} else {
				buffer.copyWithin(0, used, filled);
				filled -= used;
			}
		}
		parser.parse(buffer, filled, true);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
		return new KernelSymbols(0n, [], { unavailableReason: `cannot read ${path}: ${code}` }, options);
	} finally {
		if (fd !== undefined) {
			try {
				fs.closeSync(fd);
			} catch {}
		}
	}
	return parser.finish(options);
}
