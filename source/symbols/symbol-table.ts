/**
 * Address -> function name lookup over a sorted, immutable set of symbols.
 *
 * Addresses are plain numbers: user-space virtual addresses are below 2^53,
 * so they are exact in a double. Kernel addresses are not; kallsyms.ts stores
 * them as offsets from the lowest kernel address instead.
 */
import { isAscii } from "node:buffer";

/** One symbol as a source reports it, before sorting and de-duplication. */
export interface SymbolEntry {
	readonly name: string;
	/** First address of the symbol. */
	readonly start: number;
	/** Length in bytes; 0 means "unknown", and the symbol then runs up to the next one. */
	readonly size: number;
	/**
	 * Upper bound for a size-0 symbol's implied end, when the source knows one
	 * (the end of the section or segment that holds it).
	 */
	readonly maxEnd?: number;
	/**
	 * Preference among symbols at the same address: the higher rank wins before
	 * any other rule. Defaults to 0.
	 */
	readonly rank?: number;
}

/** The symbol that covers an address, and how far into it the address is. */
export interface SymbolHit {
	readonly name: string;
	readonly offset: number;
}

/** A symbol as stored: its final range after de-duplication and end fix-up. */
export interface ResolvedSymbol {
	readonly name: string;
	readonly start: number;
	readonly end: number;
}

/** Options for {@link SymbolTable}. */
export interface SymbolTableOptions {
	/**
	 * How far a size-0 symbol may reach when nothing else bounds it. Without a
	 * cap, the last symbol of a table would swallow every address above it.
	 */
	readonly maxImplicitSize?: number;
}

/** Default reach of a size-0 symbol (1 MiB). */
export const DEFAULT_MAX_IMPLICIT_SIZE = 1 << 20;

// Nested symbols are walked outward at lookup time; a hostile table could nest
// thousands deep, so the walk is capped rather than trusted.
const MAX_PARENT_STEPS = 16;

function leadingUnderscores(name: string): number {
	let n = 0;
	while (n < name.length && name.charCodeAt(n) === 0x5f) n++;
	return n;
}

/**
 * Orders two symbols at the same address, best first. The rules follow perf's
 * `choose_best_symbol` (a known size, then fewer leading underscores, then the
 * longer name), after the source's own rank, so that `malloc` beats
 * `__libc_malloc`. The last rule makes the choice independent of input order.
 */
export function compareSymbolPreference(a: SymbolEntry, b: SymbolEntry): number {
	const rank = (b.rank ?? 0) - (a.rank ?? 0);
	if (rank !== 0) return rank;
	const sized = Number(b.size > 0) - Number(a.size > 0);
	if (sized !== 0) return sized;
	const underscores = leadingUnderscores(a.name) - leadingUnderscores(b.name);
	if (underscores !== 0) return underscores;
	if (a.name.length !== b.name.length) return b.name.length - a.name.length;
	return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function isAddress(value: number): boolean {
	return Number.isSafeInteger(value) && value >= 0;
}

/** Name bytes of one {@link PackedSymbols} symbol must fit this (ELF readers cap names at 64 KiB). */
const MAX_PACKED_NAME_BYTES = 0xffff;
const MAX_STRING_TABLES = 0xff;

/** The columns of a {@link PackedSymbols}, as SymbolTable reads them. */
interface PackedColumns {
	readonly count: number;
	readonly starts: Float64Array;
	readonly sizes: Float64Array;
	/** NaN where the symbol has no maxEnd. */
	readonly maxEnds: Float64Array;
	/** rank * 2 + (size > 0 ? 1 : 0): the first two preference rules in one number, higher first. */
	readonly priorities: Uint16Array;
	/** Which of `strings` holds the name. */
	readonly tables: Uint8Array;
	readonly nameStarts: Uint32Array;
	readonly nameLengths: Uint16Array;
	/** Leading underscores of the name, counted when the symbol was added. */
	readonly nameUnderscores: Uint16Array;
	readonly strings: readonly Buffer[];
	/** Whether each of `strings` is all ASCII (so that every name in it is). */
	readonly asciiStrings: readonly boolean[];
}

// Lets SymbolTable read a PackedSymbols' private columns; set in its static block.
let packedColumns: (packed: PackedSymbols) => PackedColumns;

/**
 * Symbols as parallel typed arrays, with names as byte ranges of string tables
 * (UTF-8 without the NUL), for sources with many symbols such as an ELF file:
 * no object and no string per symbol. {@link SymbolTable} keeps only the bytes
 * of the names it chooses, and decodes a name when it is first looked up.
 *
 * The table built from these resolves exactly as one built from the same
 * symbols as {@link SymbolEntry} objects (names decoded as UTF-8), added in the
 * same order. Building it costs a sort plus time linear in the number of
 * symbols and the total length of their names: a caller reading hostile input
 * should bound the latter (the ELF reader budgets its name bytes).
 */
export class PackedSymbols {
	#count = 0;
	#starts = new Float64Array(0);
	#sizes = new Float64Array(0);
	#maxEnds = new Float64Array(0);
	#priorities = new Uint16Array(0);
	#tables = new Uint8Array(0);
	#nameStarts = new Uint32Array(0);
	#nameLengths = new Uint16Array(0);
	#nameUnderscores = new Uint16Array(0);
	readonly #strings: Buffer[] = [];
	readonly #asciiStrings: boolean[] = [];

	static {
		packedColumns = (packed) => ({
			count: packed.#count,
			starts: packed.#starts,
			sizes: packed.#sizes,
			maxEnds: packed.#maxEnds,
			priorities: packed.#priorities,
			tables: packed.#tables,
			nameStarts: packed.#nameStarts,
			nameLengths: packed.#nameLengths,
			nameUnderscores: packed.#nameUnderscores,
			strings: packed.#strings,
			asciiStrings: packed.#asciiStrings,
		});
	}

	/** Symbols added so far. */
	get count(): number {
		return this.#count;
	}

	/** Registers a string table that names point into; returns its id for {@link add}. */
	addStrings(bytes: Buffer): number {
		if (this.#strings.length >= MAX_STRING_TABLES) throw new RangeError("too many string tables");
		this.#strings.push(bytes);
		this.#asciiStrings.push(isAscii(bytes));
		return this.#strings.length - 1;
	}

	/** Makes room for `more` further symbols, so that adding them does not reallocate. */
	reserve(more: number): void {
		if (!(more > 0)) return;
		const capacity = this.#count + Math.ceil(more);
		if (capacity <= this.#starts.length) return;
		const count = this.#count;
		const grow = <T extends Float64Array | Uint8Array | Uint16Array | Uint32Array>(old: T, fresh: T): T => {
			fresh.set(old.subarray(0, count));
			return fresh;
		};
		this.#starts = grow(this.#starts, new Float64Array(capacity));
		this.#sizes = grow(this.#sizes, new Float64Array(capacity));
		this.#maxEnds = grow(this.#maxEnds, new Float64Array(capacity));
		this.#priorities = grow(this.#priorities, new Uint16Array(capacity));
		this.#tables = grow(this.#tables, new Uint8Array(capacity));
		this.#nameStarts = grow(this.#nameStarts, new Uint32Array(capacity));
		this.#nameLengths = grow(this.#nameLengths, new Uint16Array(capacity));
		this.#nameUnderscores = grow(this.#nameUnderscores, new Uint16Array(capacity));
	}

	/**
	 * Adds one symbol, as {@link SymbolEntry} would describe it (a `maxEnd`
	 * that is not a finite number means none), named by `nameLength` (1 to
	 * 65535) bytes at `nameStart` in string table `strings`. `rank` is an
	 * integer from 0 to 255. Returns false, adding nothing, for an unusable
	 * start or size (as SymbolTable skips such entries); throws a RangeError
	 * for a name outside its table or a bad rank.
	 */
	add(
		start: number,
		size: number,
		maxEnd: number | undefined,
		rank: number,
		strings: number,
		nameStart: number,
		nameLength: number,
	): boolean {
		const table = this.#strings[strings];
		if (
			table === undefined ||
			!Number.isInteger(nameStart) ||
			!Number.isInteger(nameLength) ||
			nameLength < 1 ||
			nameLength > MAX_PACKED_NAME_BYTES ||
			nameStart < 0 ||
			nameStart > table.length - nameLength
		) {
			throw new RangeError(`name ${nameStart}+${nameLength} is outside string table ${strings}`);
		}
		if (!Number.isInteger(rank) || rank < 0 || rank > 0xff) throw new RangeError(`rank ${rank} is out of range`);
		if (!isAddress(start) || !isAddress(size)) return false;
		if (this.#count === this.#starts.length) this.reserve(Math.max(64, this.#count));
		let underscores = 0;
		while (underscores < nameLength && table[nameStart + underscores] === 0x5f) underscores++;
		const i = this.#count++;
		this.#starts[i] = start;
		this.#sizes[i] = size;
		this.#maxEnds[i] = typeof maxEnd === "number" && Number.isFinite(maxEnd) ? maxEnd : Number.NaN;
		this.#priorities[i] = rank * 2 + (size > 0 ? 1 : 0);
		this.#tables[i] = strings;
		this.#nameStarts[i] = nameStart;
		this.#nameLengths[i] = nameLength;
		this.#nameUnderscores[i] = underscores;
		return true;
	}
}

// Below this many symbols a comparison sort beats the radix passes' fixed cost.
const RADIX_MIN_COUNT = 4096;
const RADIX_BITS = 16;
const RADIX_BUCKETS = 1 << RADIX_BITS;
const RADIX_MASK = RADIX_BUCKETS - 1;

// The hot loops below each sit in a small function of their own. They run once
// per file, so V8 compiles them on-stack while they run; a loop alone in its
// function is compiled once, where a function of several loops is recompiled
// for each loop that it reaches without type feedback.

/** Symbol indexes in start order, and their starts in that order. */
interface StartOrder {
	readonly order: Uint32Array;
	/** sorted[k] = starts[order[k]], read in order instead of jumping around starts. */
	readonly sorted: Float64Array;
}

/**
 * Indexes 0..count-1 ordered by start, equal starts in index order. A radix
 * sort on the offset from the lowest start when the starts span less than 2^32
 * bytes (any real binary); a comparison sort otherwise.
 */
function orderByStart(starts: Float64Array, count: number): StartOrder {
	const order = identity(count);
	sortIndexesByKey(order, starts);
	const sorted = new Float64Array(count);
	for (let k = 0; k < count; k++) sorted[k] = starts[order[k]];
	return { order, sorted };
}

/**
 * Sorts `indexes` in place by `keys[index]`, stably (equal keys keep their
 * order in `indexes`). Keys spanning less than 2^32 take 16-bit LSD radix
 * passes on their offset from the lowest: a few milliseconds and a few MB of
 * typed arrays for 100k symbols, where a comparator sort costs several times
 * that in time and in short-lived heap. Shared by ELF and kernel symbols.
 */
export function sortIndexesByKey(indexes: Uint32Array, keys: Float64Array): void {
	const n = indexes.length;
	if (n === 0) return;
	const [min, max] = keyRange(indexes, keys);
	if (n < RADIX_MIN_COUNT || max - min >= 2 ** 32) {
		// Array.prototype.sort is stable.
		const array = Array.from(indexes);
		array.sort((a, b) => keys[a] - keys[b]);
		indexes.set(array);
		return;
	}
	// Keys travel with their indexes, to keep the passes sequential.
	let from: Uint32Array = indexes;
	let fromKeys: Uint32Array = offsetsOf(indexes, keys, min);
	let to: Uint32Array = new Uint32Array(n);
	let toKeys: Uint32Array = new Uint32Array(n);
	const buckets = new Uint32Array(RADIX_BUCKETS);
	for (let shift = 0; shift < 32; shift += RADIX_BITS) {
		if (!radixPass(fromKeys, from, toKeys, to, buckets, shift)) continue;
		[fromKeys, toKeys] = [toKeys, fromKeys];
		[from, to] = [to, from];
	}
	if (from !== indexes) indexes.set(from);
}

function keyRange(indexes: Uint32Array, keys: Float64Array): [number, number] {
	let min = Number.POSITIVE_INFINITY;
	let max = Number.NEGATIVE_INFINITY;
	for (let k = 0; k < indexes.length; k++) {
		const v = keys[indexes[k]];
		if (v < min) min = v;
		if (v > max) max = v;
	}
	return [min, max];
}

function offsetsOf(indexes: Uint32Array, keys: Float64Array, min: number): Uint32Array {
	const out = new Uint32Array(indexes.length);
	for (let k = 0; k < indexes.length; k++) out[k] = keys[indexes[k]] - min;
	return out;
}

function identity(count: number): Uint32Array {
	const order = new Uint32Array(count);
	for (let i = 0; i < count; i++) order[i] = i;
	return order;
}

/**
 * One stable counting-sort pass on the 16-bit digit at `shift`, from
 * (keys, order) into (toKeys, to). Returns false, writing nothing, when every
 * key has the same digit there.
 */
function radixPass(
	keys: Uint32Array,
	order: Uint32Array,
	toKeys: Uint32Array,
	to: Uint32Array,
	buckets: Uint32Array,
	shift: number,
): boolean {
	const count = keys.length;
	buckets.fill(0);
	for (let i = 0; i < count; i++) buckets[(keys[i] >>> shift) & RADIX_MASK]++;
	if (buckets[(keys[0] >>> shift) & RADIX_MASK] === count) return false;
	let sum = 0;
	for (let digit = 0; digit < RADIX_BUCKETS; digit++) {
		const n = buckets[digit];
		buckets[digit] = sum;
		sum += n;
	}
	for (let i = 0; i < count; i++) {
		const key = keys[i];
		const at = buckets[(key >>> shift) & RADIX_MASK]++;
		toKeys[at] = key;
		to[at] = order[i];
	}
	return true;
}

/** Ranks two symbols at one address: negative when `a` beats `b`. */
interface Preference {
	compare(a: number, b: number): number;
}

/** {@link compareSymbolPreference} over an array of entries. */
class EntryPreference implements Preference {
	readonly #entries: readonly SymbolEntry[];
	constructor(entries: readonly SymbolEntry[]) {
		this.#entries = entries;
	}
	compare(a: number, b: number): number {
		return compareSymbolPreference(this.#entries[a], this.#entries[b]);
	}
}

/** The symbols kept, one per distinct start, in start order. */
interface Chosen {
	readonly indexes: Uint32Array;
	readonly starts: Float64Array;
}

/**
 * The preferred of the symbols at each distinct start. Only a strictly better
 * symbol replaces the one kept, so among equals the earliest wins, as it
 * would come first in a stable sort.
 */
function chooseAliases({ order, sorted }: StartOrder, preference: Preference): Chosen {
	const indexes = new Uint32Array(order.length);
	const starts = new Float64Array(order.length);
	let n = 0;
	for (let k = 0; k < order.length; k++) {
		const i = order[k];
		if (n > 0 && sorted[k] === starts[n - 1]) {
			if (preference.compare(i, indexes[n - 1]) < 0) indexes[n - 1] = i;
		} else {
			indexes[n] = i;
			starts[n++] = sorted[k];
		}
	}
	return { indexes: indexes.slice(0, n), starts: starts.slice(0, n) };
}

interface Ranges {
	readonly starts: Float64Array;
	readonly ends: Float64Array;
	readonly parents: Int32Array;
}

/** Final ranges of the chosen symbols: size-0 ends fixed up, and each one's enclosing symbol. */
function resolveRanges(chosen: Chosen, sizes: Float64Array, maxEnds: Float64Array, cap: number): Ranges {
	const ends = resolveEnds(chosen.indexes, chosen.starts, sizes, maxEnds, cap);
	return { starts: chosen.starts, ends, parents: enclosing(chosen.starts, ends) };
}

function resolveEnds(
	chosen: Uint32Array,
	starts: Float64Array,
	sizes: Float64Array,
	maxEnds: Float64Array,
	cap: number,
): Float64Array {
	const n = chosen.length;
	const ends = new Float64Array(n);
	for (let i = 0; i < n; i++) {
		const c = chosen[i];
		const start = starts[i];
		const size = sizes[c];
		let end: number;
		if (size > 0) {
			end = start + size;
		} else {
			end = start + cap;
			const next = i + 1 < n ? starts[i + 1] : Number.POSITIVE_INFINITY;
			if (next < end) end = next;
			// NaN (no bound) fails both comparisons.
			const bound = maxEnds[c];
			if (bound > start && bound < end) end = bound;
			// A size-0 symbol still has to cover its own first byte.
			if (end <= start) end = start + 1;
		}
		if (end > Number.MAX_SAFE_INTEGER) end = Number.MAX_SAFE_INTEGER;
		ends[i] = end;
	}
	return ends;
}

/** Each symbol's nearest enclosing one, via a stack of still-open symbols, in start order. */
function enclosing(starts: Float64Array, ends: Float64Array): Int32Array {
	const n = starts.length;
	const parents = new Int32Array(n);
	const open = new Int32Array(n);
	let depth = 0;
	for (let i = 0; i < n; i++) {
		const start = starts[i];
		while (depth > 0 && ends[open[depth - 1]] <= start) depth--;
		parents[i] = depth > 0 ? open[depth - 1] : -1;
		open[depth++] = i;
	}
	return parents;
}

function viewOf(bytes: Buffer): DataView {
	return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * {@link compareSymbolPreference} for packed symbols, with names compared as
 * bytes where that gives the same answer: leading underscores count alike in
 * bytes and in the decoded string, and so do the length and the order of
 * ASCII names. Other names are decoded to compare.
 *
 * The work per comparison is bounded by the challenger's name, not by the
 * best-so-far's, which meets every rival at its address: underscores and
 * lengths are precomputed, bytes are compared only between names of one
 * length, and the best-so-far's name is decoded once, not once per rival.
 */
class PackedPreference implements Preference {
	readonly #columns: PackedColumns;
	readonly #views: readonly DataView[];
	// Per symbol, when some table is not all ASCII: 0 unknown, 1 ASCII, 2 not.
	readonly #ascii: Uint8Array | undefined;
	#decodedIndex = -1;
	#decodedName = "";

	constructor(columns: PackedColumns) {
		this.#columns = columns;
		this.#views = columns.strings.map(viewOf);
		this.#ascii = columns.asciiStrings.every(Boolean) ? undefined : new Uint8Array(columns.count);
	}

	compare(a: number, b: number): number {
		const columns = this.#columns;
		const priority = columns.priorities[b] - columns.priorities[a];
		if (priority !== 0) return priority;
		const underscores = columns.nameUnderscores[a] - columns.nameUnderscores[b];
		if (underscores !== 0) return underscores;
		if (this.#ascii !== undefined && (!this.#isAscii(a) || !this.#isAscii(b))) {
			const aName = this.#name(a);
			const bName = this.#decode(b);
			if (aName.length !== bName.length) return bName.length - aName.length;
			return aName < bName ? -1 : aName > bName ? 1 : 0;
		}
		const length = columns.nameLengths[a];
		if (length !== columns.nameLengths[b]) return columns.nameLengths[b] - length;
		// Usually the same name twice (a function in both .symtab and .dynsym):
		// 4 bytes at a time. Big-endian words order as their bytes do.
		const aView = this.#views[columns.tables[a]];
		const bView = this.#views[columns.tables[b]];
		const aStart = columns.nameStarts[a];
		const bStart = columns.nameStarts[b];
		let i = 0;
		while (i + 4 <= length && aView.getUint32(aStart + i) === bView.getUint32(bStart + i)) i += 4;
		for (; i < length; i++) {
			const diff = aView.getUint8(aStart + i) - bView.getUint8(bStart + i);
			if (diff !== 0) return diff;
		}
		return 0;
	}

	#isAscii(i: number): boolean {
		const ascii = this.#ascii as Uint8Array;
		if (ascii[i] === 0) {
			const columns = this.#columns;
			const start = columns.nameStarts[i];
			ascii[i] = isAscii(columns.strings[columns.tables[i]].subarray(start, start + columns.nameLengths[i])) ? 1 : 2;
		}
		return ascii[i] === 1;
	}

	#name(i: number): string {
		const columns = this.#columns;
		const start = columns.nameStarts[i];
		return columns.strings[columns.tables[i]].toString("utf8", start, start + columns.nameLengths[i]);
	}

	/** #name, remembering the last one: the best-so-far at an address is compared over and over. */
	#decode(i: number): string {
		if (this.#decodedIndex !== i) {
			this.#decodedName = this.#name(i);
			this.#decodedIndex = i;
		}
		return this.#decodedName;
	}
}

/** Names of a packed table: byte ranges, decoded on first use. */
interface NameBytes {
	/** One buffer (the chosen names copied together), or the source's string tables. */
	readonly strings: readonly Buffer[];
	/** Which of `strings` each name is in; absent when there is only one. */
	readonly tables: Uint8Array | undefined;
	readonly starts: Uint32Array;
	readonly lengths: Uint16Array;
}

/**
 * Keeps the chosen names' bytes. They are copied into one buffer when that is
 * no larger than the largest string table (always, for a real file: much of a
 * string table is not function names), so that the tables can be freed;
 * otherwise (many symbols sharing long names) the tables are kept as they are.
 */
function keepNames(columns: PackedColumns, chosen: Uint32Array): NameBytes {
	const n = chosen.length;
	const lengths = new Uint16Array(n);
	const total = gatherLengths(columns.nameLengths, chosen, lengths);
	let largest = 0;
	for (const table of columns.strings) largest = Math.max(largest, table.length);
	const starts = new Uint32Array(n);
	if (total > largest) {
		const tables = new Uint8Array(n);
		for (let k = 0; k < n; k++) {
			tables[k] = columns.tables[chosen[k]];
			starts[k] = columns.nameStarts[chosen[k]];
		}
		return { strings: columns.strings, tables, starts, lengths };
	}
	// Copied in the order the symbols were added, not in address order: a
	// symbol table's names are laid out in its own order, so the reads stream
	// through each string table instead of jumping around it.
	const position = new Int32Array(columns.count).fill(-1);
	for (let k = 0; k < n; k++) position[chosen[k]] = k;
	const pool = Buffer.alloc(total);
	copyNames(columns, position, lengths, starts, pool);
	return { strings: [pool], tables: undefined, starts, lengths };
}

function gatherLengths(nameLengths: Uint16Array, chosen: Uint32Array, lengths: Uint16Array): number {
	let total = 0;
	for (let k = 0; k < chosen.length; k++) {
		const length = nameLengths[chosen[k]];
		lengths[k] = length;
		total += length;
	}
	return total;
}

/** Copies the name of each symbol i with position[i] = k >= 0 into `pool`, at starts[k]. */
function copyNames(
	columns: PackedColumns,
	position: Int32Array,
	lengths: Uint16Array,
	starts: Uint32Array,
	pool: Buffer,
): void {
	const views = columns.strings.map(viewOf);
	const tables = columns.tables;
	const nameStarts = columns.nameStarts;
	const to = viewOf(pool);
	let at = 0;
	for (let i = 0; i < position.length; i++) {
		const k = position[i];
		if (k < 0) continue;
		const from = views[tables[i]];
		const start = nameStarts[i];
		const length = lengths[k];
		starts[k] = at;
		let j = 0;
		for (; j + 4 <= length; j += 4) to.setUint32(at + j, from.getUint32(start + j));
		for (; j < length; j++) to.setUint8(at + j, from.getUint8(start + j));
		at += length;
	}
}

/**
 * Sorted symbols with binary-search lookup. One symbol per start address (the
 * preferred alias, see {@link compareSymbolPreference}); ranges may nest, and
 * an address in a nested symbol's tail resolves to the enclosing one.
 *
 * Built from {@link SymbolEntry} objects, or, for large sources, from
 * {@link PackedSymbols}, whose names are kept as bytes and decoded (and then
 * cached) when first looked up.
 */
export class SymbolTable {
	readonly #starts: Float64Array;
	readonly #ends: Float64Array;
	// Index of the nearest earlier symbol whose range encloses this one's start, or -1.
	readonly #parents: Int32Array;
	// Names as strings (from SymbolEntry objects) or as bytes (from PackedSymbols).
	readonly #names: readonly string[] | undefined;
	readonly #nameBytes: NameBytes | undefined;
	readonly #decoded = new Map<number, string>();

	constructor(entries: Iterable<SymbolEntry> | PackedSymbols, options: SymbolTableOptions = {}) {
		const cap = Math.max(1, options.maxImplicitSize ?? DEFAULT_MAX_IMPLICIT_SIZE);
		let ranges: Ranges;
		if (entries instanceof PackedSymbols) {
			const columns = packedColumns(entries);
			const order = orderByStart(columns.starts, columns.count);
			const chosen = chooseAliases(order, new PackedPreference(columns));
			ranges = resolveRanges(chosen, columns.sizes, columns.maxEnds, cap);
			this.#names = undefined;
			this.#nameBytes = keepNames(columns, chosen.indexes);
		} else {
			const valid: SymbolEntry[] = [];
			for (const entry of entries) {
				if (typeof entry.name !== "string" || !isAddress(entry.start)) continue;
				if (!isAddress(entry.size)) continue;
				valid.push(entry);
			}
			const count = valid.length;
			const starts = new Float64Array(count);
			const sizes = new Float64Array(count);
			const maxEnds = new Float64Array(count);
			for (let i = 0; i < count; i++) {
				const entry = valid[i];
				starts[i] = entry.start;
				sizes[i] = entry.size;
				const bound = entry.maxEnd;
				maxEnds[i] = typeof bound === "number" && Number.isFinite(bound) ? bound : Number.NaN;
			}
			const chosen = chooseAliases(orderByStart(starts, count), new EntryPreference(valid));
			ranges = resolveRanges(chosen, sizes, maxEnds, cap);
			this.#names = Array.from(chosen.indexes, (i) => valid[i].name);
			this.#nameBytes = undefined;
		}
		this.#starts = ranges.starts;
		this.#ends = ranges.ends;
		this.#parents = ranges.parents;
	}

	/** Number of distinct symbols (one per start address). */
	get size(): number {
		return this.#starts.length;
	}

	/** The symbol covering `addr`, or undefined when it falls between symbols. */
	lookup(addr: number): SymbolHit | undefined {
		const i = this.#indexOf(addr);
		if (i < 0) return undefined;
		return { name: this.#nameOf(i, true), offset: addr - this.#starts[i] };
	}

	/** Name of symbol `i`; decoded names are cached when `keep` is set. */
	#nameOf(i: number, keep: boolean): string {
		const bytes = this.#nameBytes;
		if (bytes === undefined) return (this.#names as readonly string[])[i];
		let name = this.#decoded.get(i);
		if (name === undefined) {
			const table = bytes.strings[bytes.tables === undefined ? 0 : bytes.tables[i]];
			const start = bytes.starts[i];
			name = table.toString("utf8", start, start + bytes.lengths[i]);
			if (keep) this.#decoded.set(i, name);
		}
		return name;
	}

	/** Index of the symbol covering `addr`, or -1. */
	#indexOf(addr: number): number {
		const starts = this.#starts;
		if (!(addr >= 0) || starts.length === 0 || addr < starts[0]) return -1;
		// Last start <= addr.
		let lo = 0;
		let hi = starts.length - 1;
		while (lo < hi) {
			const mid = (lo + hi + 1) >>> 1;
			if (starts[mid] <= addr) lo = mid;
			else hi = mid - 1;
		}
		let i = lo;
		for (let step = 0; i >= 0 && step <= MAX_PARENT_STEPS; step++) {
			if (addr < this.#ends[i]) return i;
			i = this.#parents[i];
		}
		return -1;
	}

	/**
	 * The stored symbols in address order, with their final ends. Names decoded
	 * here are not cached: a full walk would otherwise keep every name as a string.
	 */
	*[Symbol.iterator](): IterableIterator<ResolvedSymbol> {
		for (let i = 0; i < this.#starts.length; i++) {
			yield { name: this.#nameOf(i, false), start: this.#starts[i], end: this.#ends[i] };
		}
	}
}
