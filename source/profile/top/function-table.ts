/**
 * The live view's function table: self and total per function over the
 * window, under the view's filters, by the counting rule (ARCHITECTURE.md,
 * Counting).
 */
import {
	FunctionCounter,
	type FunctionKey,
	displayName,
	functionKey,
	KERNEL_ONLY_FRAME,
} from "../count.js";
import type { Frame } from "../model.js";
import { type CountFilter, forEachStack } from "./filter.js";
import type { TopData } from "./window.js";

const KERNEL_ONLY_KEY = functionKey(KERNEL_ONLY_FRAME);

/** One row of the function table. */
export interface FunctionRow {
	readonly key: FunctionKey;
	/** Display name; unnamed frames read `[unknown] (reason)`. */
	readonly name: string;
	readonly module: string;
	readonly kernel: boolean;
	/** Samples whose innermost (shown) frame is this function. */
	readonly self: number;
	/** Samples in which this function appears anywhere, once per sample. */
	readonly total: number;
	readonly selfPercent: number;
	readonly totalPercent: number;
}

/**
 * The column the function table is sorted by, descending. "total" is perf
 * top -g's default ("Children"): callers that burn nothing themselves, like
 * `main`, come first with everything they call. "self" is flat perf top.
 */
export type FunctionSort = "total" | "self";

export const DEFAULT_SORT: FunctionSort = "total";

/** Ties go to the other count, then to the name, then to the module. */
function byName(a: FunctionRow, b: FunctionRow): number {
	return (
		a.name.localeCompare(b.name) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
	);
}

const COMPARE: Record<
	FunctionSort,
	(a: FunctionRow, b: FunctionRow) => number
> = {
	total: (a, b) => b.total - a.total || b.self - a.self || byName(a, b),
	self: (a, b) => b.self - a.self || b.total - a.total || byName(a, b),
};

/**
 * `rows` by `sort`, in a new array. With `limit`, only the first `limit`
 * rows are in order and the rest follow in no particular order: a screen
 * shows a few dozen of a few thousand functions, and selecting them first
 * takes O(n) comparisons where a full sort takes O(n log n), most of a
 * refresh's model work.
 */
export function sortFunctions(
	rows: readonly FunctionRow[],
	sort: FunctionSort,
	limit = rows.length,
): FunctionRow[] {
	const compare = COMPARE[sort];
	const items = rows.slice();
	// Below a quarter of the rows the selection pays for itself.
	if (limit * 4 >= items.length) return items.sort(compare);
	selectFirst(items, Math.max(0, limit), compare);
	const head = items.slice(0, limit).sort(compare);
	for (let i = 0; i < head.length; i++) items[i] = head[i] as FunctionRow;
	return items;
}

/**
 * Moves the `k` first items by `compare` to the front, in no order
 * (Hoare's FIND, as Wirth writes it). `compare` must be a total order.
 */
function selectFirst<T>(
	items: T[],
	k: number,
	compare: (a: T, b: T) => number,
): void {
	if (k <= 0 || k >= items.length) return;
	const nth = k - 1;
	let lo = 0;
	let hi = items.length - 1;
	while (lo < hi) {
		const pivot = items[(lo + hi) >>> 1] as T;
		let i = lo;
		let j = hi;
		while (i <= j) {
			while (compare(items[i] as T, pivot) < 0) i++;
			while (compare(pivot, items[j] as T) < 0) j--;
			if (i <= j) {
				const swap = items[i] as T;
				items[i] = items[j] as T;
				items[j] = swap;
				i++;
				j--;
			}
		}
		if (j < nth) lo = i;
		if (nth < i) hi = j;
	}
}

/** The counted function table of a window under a filter. */
export interface FunctionTable {
	/** Sorted by the table's sort column, descending; ties by the other count, then name. */
	readonly rows: readonly FunctionRow[];
	/** Samples that passed the pid filter: the denominator of every percentage. */
	readonly samples: number;
}

export function percent(part: number, whole: number): number {
	return whole > 0 ? (part / whole) * 100 : 0;
}

/**
 * Self and total per function over the window. Hiding kernel frames moves a
 * sample's self to its innermost user frame; percentages stay shares of all
 * filtered samples, so toggling `k` does not rescale user functions.
 */
export function functionTable(
	data: TopData,
	filter: CountFilter,
	sort: FunctionSort = DEFAULT_SORT,
): FunctionTable {
	const counts = functionCounts(data, filter);
	return { rows: sortFunctions(counts.rows, sort), samples: counts.samples };
}

/** {@link functionTable} in no particular order, for a view that sorts only what it shows. */
export function functionCounts(
	data: TopData,
	filter: CountFilter,
): FunctionTable {
	if (filter.pids.length === 0) return windowTable(data, filter);
	// Some processes: count their stacks, by the same rule as report.
	const counter = new FunctionCounter();
	forEachStack(data, filter, (frames, keys, value) =>
		counter.add({ frames, value }, keys),
	);
	const samples = counter.value;
	const rows = counter
		.counts()
		.map((c) => functionRow(c.key, c.frame, c.self, c.total, samples));
	return { rows, samples };
}

function functionRow(
	key: FunctionKey,
	frame: Frame,
	self: number,
	total: number,
	samples: number,
): FunctionRow {
	return {
		key,
		name: displayName(frame.name),
		module: frame.module,
		kernel: frame.kernel,
		self,
		total,
		selfPercent: percent(self, samples),
		totalPercent: percent(total, samples),
	};
}

/** Every process: the window's running totals, no stack is read. */
function windowTable(data: TopData, filter: CountFilter): FunctionTable {
	const { functions, samples } = data.totals;
	const rows: FunctionRow[] = [];
	for (const [key, t] of functions) {
		if (filter.hideKernel && t.frame.kernel) continue;
		const self = filter.hideKernel ? t.userSelf : t.self;
		rows.push(functionRow(key, t.frame, self, t.total, samples));
	}
	// Stacks left empty by hiding the kernel count as `[kernel]`, as in countedFrames.
	if (filter.hideKernel && data.totals.kernelOnly > 0) {
		const k = data.totals.kernelOnly;
		rows.push(functionRow(KERNEL_ONLY_KEY, KERNEL_ONLY_FRAME, k, k, samples));
	}
	return { rows, samples };
}

/** Rows whose name contains `search`, ignoring case. */
export function searchFunctions(
	rows: readonly FunctionRow[],
	search: string,
): readonly FunctionRow[] {
	const needle = search.trim().toLowerCase();
	if (needle === "") return rows;
	return rows.filter((row) => row.name.toLowerCase().includes(needle));
}
