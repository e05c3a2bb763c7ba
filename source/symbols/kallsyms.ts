/**
 * Kernel symbols from /proc/kallsyms.
 *
 * Kernel addresses are above 2^53, so they cannot be plain numbers. Parsed
 * addresses are kept as number offsets from the lowest text symbol (the
 * kernel's text and modules span far less than 2^53 bytes), and lookups take
 * the sample's bigint address.
 */
import fs from "node:fs";
import { compareSymbolPreference, DEFAULT_MAX_IMPLICIT_SIZE } from "./symbol-table.js";

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

function typeRank(type: string): number | undefined {
	// perf's preference: global before local, weak last. Everything else is data.
	switch (type) {
		case "T":
			return 2;
		case "t":
			return 1;
		case "W":
		case "w":
			return 0;
		default:
			return undefined;
	}
}

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
	readonly #starts: Float64Array;
	readonly #ends: Float64Array;
	readonly #names: string[];
	// Index into #moduleNames, or -1 for the core kernel.
	readonly #modules: Int32Array;
	readonly #moduleNames: string[] = [];

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
		const maxSymbolSize = Math.max(1, options.maxSymbolSize ?? DEFAULT_MAX_IMPLICIT_SIZE);
		this.#base = base;
		this.malformedLines = status.malformedLines ?? 0;
		this.unavailableReason = status.unavailableReason;
		const ranked: { name: string; start: number; size: number; rank: number; module?: string }[] = [];
		let sorted = true;
		for (const entry of entries) {
			const rank = typeRank(entry.type);
			if (rank === undefined || !Number.isSafeInteger(entry.offset) || entry.offset < 0) continue;
			if (ranked.length > 0 && ranked[ranked.length - 1].start > entry.offset) sorted = false;
			ranked.push({ name: entry.name, start: entry.offset, size: 0, rank, module: entry.module });
		}
		// kallsyms comes nearly sorted; skip the sort when it is, it dominates the parse.
		if (!sorted) ranked.sort((a, b) => a.start - b.start);
		const chosen: typeof ranked = [];
		for (const symbol of ranked) {
			const last = chosen.length - 1;
			if (last < 0 || chosen[last].start !== symbol.start) chosen.push(symbol);
			else if (compareSymbolPreference(symbol, chosen[last]) < 0) chosen[last] = symbol;
		}
		const moduleIndex = new Map<string, number>();
		const n = chosen.length;
		this.#starts = new Float64Array(n);
		this.#ends = new Float64Array(n);
		this.#names = new Array<string>(n);
		this.#modules = new Int32Array(n);
		for (let i = 0; i < n; i++) {
			const symbol = chosen[i];
			const next = i + 1 < n ? chosen[i + 1].start : Number.POSITIVE_INFINITY;
			this.#starts[i] = symbol.start;
			this.#ends[i] = Math.min(next, symbol.start + maxSymbolSize);
			this.#names[i] = symbol.name;
			let module = -1;
			if (symbol.module !== undefined) {
				const known = moduleIndex.get(symbol.module);
				module = known ?? this.#moduleNames.length;
				if (known === undefined) {
					moduleIndex.set(symbol.module, module);
					this.#moduleNames.push(symbol.module);
				}
			}
			this.#modules[i] = module;
		}
	}

	/** Number of distinct text symbols. */
	get size(): number {
		return this.#names.length;
	}

	/** The lowest text address, which offsets are relative to (0n when empty). */
	get base(): bigint {
		return this.#base;
	}

	/** The symbol covering a kernel address, or undefined. */
	lookup(addr: bigint): KernelSymbolHit | undefined {
		const starts = this.#starts;
		if (starts.length === 0) return undefined;
		const delta = addr - this.#base;
		if (delta < 0n || delta > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
		const off = Number(delta);
		let lo = 0;
		let hi = starts.length - 1;
		if (off < starts[0]) return undefined;
		while (lo < hi) {
			const mid = (lo + hi + 1) >>> 1;
			if (starts[mid] <= off) lo = mid;
			else hi = mid - 1;
		}
		if (off >= this.#ends[lo]) return undefined;
		const moduleIndex = this.#modules[lo];
		const hit = { name: this.#names[lo], offset: off - starts[lo] };
		return moduleIndex < 0 ? hit : { ...hit, module: this.#moduleNames[moduleIndex] };
	}
}

const HEX = /^[0-9a-fA-F]{1,16}$/;
const MODULE = /^\[[^\]]+\]$/;

function isSpace(code: number): boolean {
	return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/**
 * Splits `text[start, end)` at whitespace into `out`, stopping after 5 fields
 * (one more than a valid line has). Returns the count. Hand-rolled: a regex
 * split per line was most of the parse time for 100k+ lines.
 */
function splitFields(text: string, start: number, end: number, out: string[]): number {
	out.length = 0;
	let i = start;
	while (i < end && out.length < 5) {
		while (i < end && isSpace(text.charCodeAt(i))) i++;
		if (i >= end) break;
		const from = i;
		while (i < end && !isSpace(text.charCodeAt(i))) i++;
		out.push(text.slice(from, i));
	}
	return out.length;
}

/**
 * Parses kallsyms text: `ffffffff81000000 T _stext`, optionally followed by
 * `[module]`. Keeps text symbols (t, T, w, W). If every address is zero
 * (kptr_restrict), returns an empty table whose reason is {@link KALLSYMS_HIDDEN}.
 */
export function parseKallsyms(text: string, options: KallsymsOptions = {}): KernelSymbols {
	// Addresses as two 32-bit halves: exact, and cheaper than a BigInt per line.
	const his: number[] = [];
	const los: number[] = [];
	const kept: { name: string; type: string; module?: string }[] = [];
	let malformed = 0;
	let parsed = 0;
	let nonZero = 0;

	const fields: string[] = [];
	let pos = 0;
	while (pos < text.length) {
		let end = text.indexOf("\n", pos);
		if (end < 0) end = text.length;
		const count = splitFields(text, pos, end, fields);
		pos = end + 1;
		if (count === 0) continue;
		const [address, type, name, moduleField] = fields;
		if (
			count < 3 ||
			count > 4 ||
			!HEX.test(address) ||
			type.length !== 1 ||
			(moduleField !== undefined && !MODULE.test(moduleField))
		) {
			malformed++;
			continue;
		}
		parsed++;
		const split = Math.max(0, address.length - 8);
		const hi = split === 0 ? 0 : Number.parseInt(address.slice(0, split), 16);
		const lo = Number.parseInt(address.slice(split), 16);
		if (hi === 0 && lo === 0) continue;
		nonZero++;
		if (typeRank(type) === undefined) continue;
		his.push(hi);
		los.push(lo);
		kept.push(moduleField === undefined ? { name, type } : { name, type, module: moduleField.slice(1, -1) });
	}

	if (parsed > 0 && nonZero === 0) {
		return new KernelSymbols(0n, [], { unavailableReason: KALLSYMS_HIDDEN, malformedLines: malformed }, options);
	}
	if (kept.length === 0) {
		const unavailableReason = "kallsyms has no text symbols";
		return new KernelSymbols(0n, [], { unavailableReason, malformedLines: malformed }, options);
	}

	let baseHi = his[0];
	let baseLo = los[0];
	for (let i = 1; i < kept.length; i++) {
		if (his[i] < baseHi || (his[i] === baseHi && los[i] < baseLo)) {
			baseHi = his[i];
			baseLo = los[i];
		}
	}
	const entries: KernelSymbolEntry[] = [];
	for (let i = 0; i < kept.length; i++) {
		const offset = (his[i] - baseHi) * 0x1_0000_0000 + (los[i] - baseLo);
		// Only a stray address far from the kernel's text would not be exact.
		if (!Number.isSafeInteger(offset)) {
			malformed++;
			continue;
		}
		const { name, type, module } = kept[i];
		entries.push({ name, type, module, offset });
	}
	const base = (BigInt(baseHi) << 32n) | BigInt(baseLo);
	return new KernelSymbols(base, entries, { malformedLines: malformed }, options);
}

/**
 * Reads and parses kallsyms. Never throws: an unreadable file gives an empty
 * table whose `unavailableReason` carries the error.
 */
export function loadKallsyms(path = "/proc/kallsyms", options: KallsymsOptions = {}): KernelSymbols {
	let text: string;
	try {
		text = fs.readFileSync(path, "utf8");
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
		return new KernelSymbols(0n, [], { unavailableReason: `cannot read ${path}: ${code}` }, options);
	}
	return parseKallsyms(text, options);
}
