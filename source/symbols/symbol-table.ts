/**
 * Address -> function name lookup over a sorted, immutable set of symbols.
 *
 * Addresses are plain numbers: user-space virtual addresses are below 2^53,
 * so they are exact in a double. Kernel addresses are not; kallsyms.ts stores
 * them as offsets from the lowest kernel address instead.
 */

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

/**
 * Sorted symbols with binary-search lookup. One symbol per start address (the
 * preferred alias, see {@link compareSymbolPreference}); ranges may nest, and
 * an address in a nested symbol's tail resolves to the enclosing one.
 */
export class SymbolTable {
	readonly #starts: Float64Array;
	readonly #ends: Float64Array;
	// Index of the nearest earlier symbol whose range encloses this one's start, or -1.
	readonly #parents: Int32Array;
	readonly #names: string[];

	constructor(entries: Iterable<SymbolEntry>, options: SymbolTableOptions = {}) {
		const cap = Math.max(1, options.maxImplicitSize ?? DEFAULT_MAX_IMPLICIT_SIZE);
		const valid: SymbolEntry[] = [];
		for (const entry of entries) {
			if (typeof entry.name !== "string" || !isAddress(entry.start)) continue;
			if (!isAddress(entry.size)) continue;
			valid.push(entry);
		}
		valid.sort((a, b) => a.start - b.start || compareSymbolPreference(a, b));

		const chosen: SymbolEntry[] = [];
		for (const entry of valid) {
			// Sorted by preference within a start, so the first one seen wins.
			if (chosen.length > 0 && chosen[chosen.length - 1].start === entry.start) continue;
			chosen.push(entry);
		}

		const n = chosen.length;
		this.#starts = new Float64Array(n);
		this.#ends = new Float64Array(n);
		this.#parents = new Int32Array(n);
		this.#names = new Array<string>(n);
		for (let i = 0; i < n; i++) {
			const entry = chosen[i];
			const start = entry.start;
			let end: number;
			if (entry.size > 0) {
				end = start + entry.size;
			} else {
				end = start + cap;
				const next = i + 1 < n ? chosen[i + 1].start : Number.POSITIVE_INFINITY;
				if (next < end) end = next;
				const bound = entry.maxEnd;
				if (bound !== undefined && Number.isFinite(bound) && bound > start && bound < end) {
					end = bound;
				}
				// A size-0 symbol still has to cover its own first byte.
				if (end <= start) end = start + 1;
			}
			if (end > Number.MAX_SAFE_INTEGER) end = Number.MAX_SAFE_INTEGER;
			this.#starts[i] = start;
			this.#ends[i] = end;
			this.#names[i] = entry.name;
		}

		// Enclosing ranges via a stack of still-open symbols, in start order.
		const open: number[] = [];
		for (let i = 0; i < n; i++) {
			const start = this.#starts[i];
			while (open.length > 0 && this.#ends[open[open.length - 1]] <= start) open.pop();
			this.#parents[i] = open.length > 0 ? open[open.length - 1] : -1;
			open.push(i);
		}
	}

	/** Number of distinct symbols (one per start address). */
	get size(): number {
		return this.#names.length;
	}

	/** The symbol covering `addr`, or undefined when it falls between symbols. */
	lookup(addr: number): SymbolHit | undefined {
		const i = this.#indexOf(addr);
		if (i < 0) return undefined;
		return { name: this.#names[i], offset: addr - this.#starts[i] };
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

	/** The stored symbols in address order, with their final ends. */
	*[Symbol.iterator](): IterableIterator<ResolvedSymbol> {
		for (let i = 0; i < this.#names.length; i++) {
			yield { name: this.#names[i], start: this.#starts[i], end: this.#ends[i] };
		}
	}
}
