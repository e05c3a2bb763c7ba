/**
 * The data behind `tsprof top`, kept apart from the sampler and from React so
 * that a recording can feed it as well as the live sampler, and so that every
 * figure on the screen is a pure function of it.
 *
 * Batches go into an {@link IntervalAccumulator} (the only mutable part, owned
 * by the command, O(samples × depth) per batch). Once per refresh the command
 * closes the interval and folds it into an immutable {@link TopData} with
 * {@link advance}, which also keeps the window's sums up to date; the view
 * derives rows from that with {@link snapshot} (or its parts), as often as
 * filters change, without touching the sampler. Functions are sorted by total,
 * as perf top -g does, or by self; a screen orders only the rows it can reach
 * ({@link sortFunctions} with a limit).
 */
import type { LiveBatch, ProcessKey } from "./live.js";
import type { Frame, Sample } from "./model.js";

/** `${pid}:${startNs}`: pids get reused, this does not. */
export type ProcessId = string;

/** Identity of a function across processes: kernel flag, module and name. */
export type FunctionKey = string;

export function processId(key: ProcessKey): ProcessId {
	return `${key.pid}:${key.startNs}`;
}

/** Tunables of the model; the defaults suit a 1 s refresh. */
export interface TopConfig {
	/** Sampling frequency, for CPU %. */
	readonly frequencyHz: number;
	/** Refresh intervals the function table (and window sample counts) cover. */
	readonly windowIntervals: number;
	/** Refreshes an exited process stays visible (dimmed) before it is swept. */
	readonly tombstoneRefreshes: number;
	/** Exited processes of one executable are folded into one row when there are more than this many. */
	readonly groupThreshold: number;
}

export const DEFAULT_CONFIG: Omit<TopConfig, "frequencyHz"> = {
	windowIntervals: 10,
	tombstoneRefreshes: 3,
	groupThreshold: 3,
};

/** CPU % of one CPU: samples taken at `hz` over `intervalMs`. Can exceed 100 for multi-threaded processes. */
export function cpuPercent(
	samplesInInterval: number,
	hz: number,
	intervalMs: number,
): number {
	if (hz <= 0 || intervalMs <= 0) return 0;
	return (samplesInInterval / (hz * (intervalMs / 1000))) * 100;
}

/** Share of one CPU that tsprof itself used between two `process.cpuUsage()` readings. */
export function selfCpuPercent(
	previous: NodeJS.CpuUsage,
	current: NodeJS.CpuUsage,
	elapsedMs: number,
): number {
	if (elapsedMs <= 0) return 0;
	const usedUs =
		current.user - previous.user + (current.system - previous.system);
	return Math.max(0, (usedUs / 1000 / elapsedMs) * 100);
}

/** Rate of samples per second over an interval. */
export function perSecond(count: number, intervalMs: number): number {
	return intervalMs > 0 ? (count * 1000) / intervalMs : 0;
}

const UNKNOWN_ADDRESS = /^\[unknown\](\s+0x[0-9a-f]+)/i;

/**
 * Name a frame is counted under. Unnamed frames carry their address in the
 * name; top merges them per module and reason, or one hot unsymbolised
 * library would fill the table with one row per instruction.
 */
export function displayName(name: string): string {
	return name.startsWith("[unknown]")
		? name.replace(UNKNOWN_ADDRESS, "[unknown]")
		: name;
}

export function functionKey(frame: Frame): FunctionKey {
	return `${frame.kernel ? "k" : "u"}${frame.module}\0${displayName(frame.name)}`;
}

/** One distinct stack of one process, with its summed count over an interval. */
export interface StackCount {
	readonly process: ProcessId;
	readonly pid: number;
	/** Innermost first; the frames of the first sample seen with this stack. */
	readonly frames: readonly Frame[];
	/** `functionKey` of each frame, computed once when the stack is first seen. */
	readonly keys: readonly FunctionKey[];
	readonly value: number;
}

/** Counts of one function over one interval, every process. */
export interface FunctionTally {
	readonly frame: Frame;
	/** Samples whose innermost frame is this function. */
	readonly self: number;
	/** The same with kernel frames dropped (top's `k`): self moves to the innermost user frame. */
	readonly userSelf: number;
	/** Samples in which this function appears anywhere, once per sample. */
	readonly total: number;
}

/** What a process looked like when last sampled. */
export interface ProcessInfo {
	readonly id: ProcessId;
	readonly pid: number;
	readonly startNs: bigint;
	readonly comm: string;
	readonly exe: string;
}

/** One closed refresh interval. */
export interface Interval {
	readonly startMs: number;
	readonly endMs: number;
	readonly stacks: readonly StackCount[];
	/** The same stacks by pid, so a pid filter reads only its own. */
	readonly stacksByPid: ReadonlyMap<number, readonly StackCount[]>;
	/**
	 * Per-function counts of every process, kept as samples arrive: the
	 * unfiltered table (the usual view) then costs O(functions) a refresh
	 * instead of O(stacks × depth).
	 */
	readonly functions: ReadonlyMap<FunctionKey, FunctionTally>;
	/** Sample value per process in this interval. */
	readonly perProcess: ReadonlyMap<ProcessId, number>;
	/** Sum of all sample values in this interval. */
	readonly total: number;
}

/** An interval as it leaves the accumulator, with what advance() needs besides counts. */
export interface ClosedInterval extends Interval {
	readonly processes: ReadonlyMap<ProcessId, ProcessInfo>;
	readonly exited: readonly ProcessId[];
}

interface MutableTally {
	readonly key: FunctionKey;
	readonly frame: Frame;
	/** Number of the function within its interval, for hashing stacks. */
	readonly id: number;
	self: number;
	userSelf: number;
	total: number;
	/** Serial of the last stack that listed it, to list each function once per stack. */
	mark: number;
}

interface MutableStack {
	process: ProcessId;
	pid: number;
	frames: readonly Frame[];
	keys: readonly FunctionKey[];
	value: number;
	/** The tally of each frame, innermost first: the stack's identity within the interval. */
	path: readonly MutableTally[];
	/** One tally per distinct function of the stack, so recursion counts once. */
	tallies: readonly MutableTally[];
	/** Innermost user frame's tally: where self goes when kernel frames are hidden. */
	innerUser: MutableTally | undefined;
}

function samePath(
	a: readonly MutableTally[],
	b: readonly MutableTally[],
): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/**
 * Collects batches between two refreshes. Mutable on purpose: it runs on
 * every drain, outside React, and must stay O(samples × depth) with a small
 * constant (at 64 CPUs that is 6,000 stacks a second): stacks are found by a
 * hash of their functions' numbers, not by a joined string, and a stack seen
 * before costs one increment per distinct function.
 */
export class IntervalAccumulator {
	#startMs: number;
	#stacks: MutableStack[] = [];
	/** Stacks by hash of process and path; collisions are compared in full. */
	#buckets = new Map<number, MutableStack[]>();
	#byPid = new Map<number, MutableStack[]>();
	#functions = new Map<FunctionKey, MutableTally>();
	/** The same tallies by Frame object: the common case, one identity lookup a frame. */
	#byFrame = new Map<Frame, MutableTally>();
	#perProcess = new Map<ProcessId, number>();
	#processes = new Map<ProcessId, ProcessInfo>();
	/** Last process seen under each pid, so a sample costs no id string (and no bigint to text). */
	#byPidCache = new Map<number, ProcessInfo>();
	#exited: ProcessId[] = [];
	#total = 0;
	#serial = 0;
	/** The path of the sample being added; copied only when its stack is new. */
	#scratch: MutableTally[] = [];
	/** Symbolizers hand out the same Frame for the same function; its key is built once. */
	readonly #keys = new WeakMap<Frame, FunctionKey>();

	constructor(startMs: number) {
		this.#startMs = startMs;
	}

	/** Sum of sample values added since the last take(). */
	get total(): number {
		return this.#total;
	}

	add(batch: LiveBatch): void {
		for (const sample of batch.samples) this.addSample(sample);
		for (const key of batch.exited) this.#exited.push(processId(key));
	}

	#tally(frame: Frame): MutableTally {
		const known = this.#byFrame.get(frame);
		if (known) return known;
		let key = this.#keys.get(frame);
		if (key === undefined) {
			key = functionKey(frame);
			this.#keys.set(frame, key);
		}
		let tally = this.#functions.get(key);
		if (!tally) {
			const id = this.#functions.size;
			tally = { key, frame, id, self: 0, userSelf: 0, total: 0, mark: 0 };
			this.#functions.set(key, tally);
		}
		this.#byFrame.set(frame, tally);
		return tally;
	}

	#newStack(id: ProcessId, sample: Sample, path: MutableTally[]): MutableStack {
		const serial = ++this.#serial;
		const tallies: MutableTally[] = [];
		let innerUser: MutableTally | undefined;
		for (const tally of path) {
			if (tally.mark !== serial) {
				tally.mark = serial;
				tallies.push(tally);
			}
			if (!innerUser && !tally.frame.kernel) innerUser = tally;
		}
		const stack: MutableStack = {
			process: id,
			pid: sample.pid,
			frames: sample.frames,
			keys: path.map((t) => t.key),
			value: 0,
			path,
			tallies,
			innerUser,
		};
		this.#stacks.push(stack);
		const list = this.#byPid.get(sample.pid);
		if (list) list.push(stack);
		else this.#byPid.set(sample.pid, [stack]);
		return stack;
	}

	/** The process of a sample, kept up to date; one lookup by pid in the common case. */
	#process(sample: Sample): ProcessInfo {
		const cached = this.#byPidCache.get(sample.pid);
		// comm changes on exec while (pid, start time) stays: keep the latest.
		if (
			cached &&
			cached.startNs === sample.startNs &&
			cached.comm === sample.comm &&
			cached.exe === sample.exe
		)
			return cached;
		const id =
			cached && cached.startNs === sample.startNs
				? cached.id
				: processId(sample);
		let info = this.#processes.get(id);
		if (!info || info.comm !== sample.comm || info.exe !== sample.exe) {
			info = {
				id,
				pid: sample.pid,
				startNs: sample.startNs,
				comm: sample.comm,
				exe: sample.exe,
			};
			this.#processes.set(id, info);
		}
		this.#byPidCache.set(sample.pid, info);
		return info;
	}

	addSample(sample: Sample): void {
		const { id } = this.#process(sample);
		const { value, frames } = sample;
		const path = this.#scratch;
		path.length = frames.length;
		let hash = sample.pid | 0;
		for (let i = 0; i < frames.length; i++) {
			const tally = this.#tally(frames[i] as Frame);
			path[i] = tally;
			hash = (Math.imul(hash, 0x01000193) ^ tally.id) | 0;
		}
		// Threads of a process are not shown apart, so they share a stack.
		const bucket = this.#buckets.get(hash);
		let stack: MutableStack | undefined;
		if (bucket) {
			for (const candidate of bucket) {
				if (candidate.process === id && samePath(candidate.path, path)) {
					stack = candidate;
					break;
				}
			}
		}
		if (!stack) {
			stack = this.#newStack(id, sample, path.slice());
			if (bucket) bucket.push(stack);
			else this.#buckets.set(hash, [stack]);
		}
		stack.value += value;
		for (const tally of stack.tallies) tally.total += value;
		const inner = stack.path[0];
		if (inner) inner.self += value;
		if (stack.innerUser) stack.innerUser.userSelf += value;
		this.#perProcess.set(id, (this.#perProcess.get(id) ?? 0) + value);
		this.#total += value;
	}

	/** Closes the interval at `endMs` and starts the next one there. */
	take(endMs: number): ClosedInterval {
		const closed: ClosedInterval = {
			startMs: this.#startMs,
			endMs,
			stacks: this.#stacks,
			stacksByPid: this.#byPid,
			functions: this.#functions,
			perProcess: this.#perProcess,
			total: this.#total,
			processes: this.#processes,
			exited: this.#exited,
		};
		this.reset(endMs);
		return closed;
	}

	/** Drops what was collected (top's `z`). */
	reset(startMs: number): void {
		this.#startMs = startMs;
		this.#stacks = [];
		this.#buckets = new Map();
		this.#byPid = new Map();
		this.#functions = new Map();
		this.#byFrame = new Map();
		this.#perProcess = new Map();
		this.#processes = new Map();
		this.#byPidCache = new Map();
		this.#exited = [];
		this.#total = 0;
	}
}

/** A process the view knows about. */
export interface ProcessState {
	readonly info: ProcessInfo;
	/** Refresh number of the last interval with samples of it. */
	readonly lastSeen: number;
	/** Refresh number at which its exit was seen; absent while it lives. */
	readonly exitedAt?: number;
}

/** Counts of one function summed over the window, every process. */
export interface WindowTally {
	readonly frame: Frame;
	readonly self: number;
	readonly userSelf: number;
	readonly total: number;
}

/**
 * Sums over the whole window, kept up to date by {@link advance} (the new
 * interval added, the ones that left subtracted), so a refresh costs
 * O(functions that changed) instead of O(window × functions).
 */
export interface WindowTotals {
	readonly functions: ReadonlyMap<FunctionKey, WindowTally>;
	readonly perProcess: ReadonlyMap<ProcessId, number>;
	/** Sum of all sample values in the window. */
	readonly samples: number;
}

/** Everything top shows, as of one refresh. Immutable. */
export interface TopData {
	readonly config: TopConfig;
	/** Bumped by zero(), so a paused view can tell its frozen data is stale. */
	readonly generation: number;
	/** Number of intervals folded in so far. */
	readonly refresh: number;
	/** Closed intervals, oldest first, at most `config.windowIntervals`. */
	readonly window: readonly Interval[];
	/** The window's intervals added up. */
	readonly totals: WindowTotals;
	readonly processes: ReadonlyMap<ProcessId, ProcessState>;
}

const NO_TOTALS: WindowTotals = {
	functions: new Map(),
	perProcess: new Map(),
	samples: 0,
};

export function emptyTopData(config: TopConfig, generation = 0): TopData {
	return {
		config,
		generation,
		refresh: 0,
		window: [],
		totals: NO_TOTALS,
		processes: new Map(),
	};
}

/**
 * The window's totals after `added` came in and `dropped` left. Copies the
 * maps (the previous TopData may still be on screen, paused) and replaces
 * only the entries that changed.
 */
function rollTotals(
	previous: WindowTotals,
	added: readonly Interval[],
	dropped: readonly Interval[],
): WindowTotals {
	if (added.length === 0 && dropped.length === 0) return previous;
	const functions = new Map(previous.functions);
	const perProcess = new Map(previous.perProcess);
	let samples = previous.samples;
	const apply = (interval: Interval, sign: 1 | -1) => {
		samples += sign * interval.total;
		for (const [key, t] of interval.functions) {
			const known = functions.get(key);
			const total = (known?.total ?? 0) + sign * t.total;
			// self and userSelf never exceed total: nothing is left of a function at total 0.
			if (total <= 0) {
				functions.delete(key);
				continue;
			}
			functions.set(key, {
				frame: known?.frame ?? t.frame,
				self: (known?.self ?? 0) + sign * t.self,
				userSelf: (known?.userSelf ?? 0) + sign * t.userSelf,
				total,
			});
		}
		for (const [id, value] of interval.perProcess) {
			const sum = (perProcess.get(id) ?? 0) + sign * value;
			if (sum <= 0) perProcess.delete(id);
			else perProcess.set(id, sum);
		}
	};
	for (const interval of dropped) apply(interval, -1);
	for (const interval of added) apply(interval, 1);
	return { functions, perProcess, samples };
}

/** Folds a closed interval in: rolls the window, ages tombstones, sweeps old rows. */
export function advance(data: TopData, closed: ClosedInterval): TopData {
	const refresh = data.refresh + 1;
	const { config } = data;
	const interval: Interval = {
		startMs: closed.startMs,
		endMs: closed.endMs,
		stacks: closed.stacks,
		stacksByPid: closed.stacksByPid,
		functions: closed.functions,
		perProcess: closed.perProcess,
		total: closed.total,
	};
	const window = [...data.window, interval].slice(
		-Math.max(1, config.windowIntervals),
	);
	const kept = new Set(window);
	const totals = rollTotals(
		data.totals,
		[interval],
		data.window.filter((old) => !kept.has(old)),
	);
	const processes = new Map(data.processes);
	for (const info of closed.processes.values()) {
		const known = processes.get(info.id);
		processes.set(info.id, { ...known, info, lastSeen: refresh });
	}
	for (const id of closed.exited) {
		const known = processes.get(id);
		// A process that was never sampled has no row to keep.
		if (known && known.exitedAt === undefined)
			processes.set(id, { ...known, exitedAt: refresh });
	}
	for (const [id, state] of processes) {
		const tombstoneGone =
			state.exitedAt !== undefined &&
			refresh - state.exitedAt >= config.tombstoneRefreshes;
		// Tombstones go by their own clock, even when their samples left the window.
		const idle =
			state.exitedAt === undefined && refresh - state.lastSeen >= window.length;
		if (tombstoneGone || idle) processes.delete(id);
	}
	return {
		config,
		generation: data.generation,
		refresh,
		window,
		totals,
		processes,
	};
}

/** top's `z`: forget every count, keep the configuration. */
export function zero(data: TopData): TopData {
	return emptyTopData(data.config, data.generation + 1);
}

/** Filters that change what is counted. Empty `pids` means every process. */
export interface CountFilter {
	readonly pids: readonly number[];
	readonly hideKernel: boolean;
}

/** All the view's filters. */
export interface ViewFilter extends CountFilter {
	/** Case-insensitive substring of function names; empty shows all. */
	readonly search: string;
}

export const NO_FILTER: ViewFilter = {
	pids: [],
	hideKernel: false,
	search: "",
};

/** One row of the process list: a process, or several exited ones of one executable. */
export interface ProcessRow {
	/** Stable identity for React keys and selection. */
	readonly key: string;
	/** The pids the row stands for (one unless grouped). */
	readonly pids: readonly number[];
	readonly comm: string;
	readonly exe: string;
	/** CPU % over the last refresh interval (100 = one CPU). */
	readonly cpuPercent: number;
	/** Samples over the window. */
	readonly samples: number;
	/** Every process of the row has exited. */
	readonly exited: boolean;
	/** Number of processes folded into the row (`comm ×count`), 1 if not grouped. */
	readonly count: number;
}

function pidFilter(pids: readonly number[]): (pid: number) => boolean {
	if (pids.length === 0) return () => true;
	const set = new Set(pids);
	return (pid) => set.has(pid);
}

function last<T>(items: readonly T[]): T | undefined {
	return items[items.length - 1];
}

/** Length of the last interval in ms, 0 before the first refresh. */
export function lastIntervalMs(data: TopData): number {
	const interval = last(data.window);
	return interval ? interval.endMs - interval.startMs : 0;
}

/** Time the window covers, ms. */
export function windowMs(data: TopData): number {
	const first = data.window[0];
	const newest = last(data.window);
	return first && newest ? newest.endMs - first.startMs : 0;
}

/** Samples per second over the last interval, every process. */
export function samplesPerSecond(data: TopData): number {
	const interval = last(data.window);
	return interval
		? perSecond(interval.total, interval.endMs - interval.startMs)
		: 0;
}

/**
 * The process list: processes with samples in the window, plus exited ones
 * while their tombstone lasts. Exited processes of one executable are summed
 * into one row when there are more than `groupThreshold` of them, so that a
 * storm of short-lived compilers shows up as `cc1 ×312` instead of vanishing
 * among (or crowding out) everything else.
 */
export function processRows(
	data: TopData,
	pids: readonly number[] = [],
): ProcessRow[] {
	const keep = pidFilter(pids);
	const lastInterval = last(data.window);
	const intervalMs = lastIntervalMs(data);
	const windowSamples = data.totals.perProcess;
	const rows: ProcessRow[] = [];
	const exitedByExe = new Map<string, ProcessState[]>();
	for (const state of data.processes.values()) {
		const { info } = state;
		if (!keep(info.pid)) continue;
		if (state.exitedAt !== undefined) {
			const group = info.exe || info.comm;
			const list = exitedByExe.get(group);
			if (list) list.push(state);
			else exitedByExe.set(group, [state]);
			continue;
		}
		rows.push(row([state]));
	}
	for (const states of exitedByExe.values()) {
		if (states.length > data.config.groupThreshold) rows.push(row(states));
		else for (const state of states) rows.push(row([state]));
	}
	return rows.sort(
		(a, b) =>
			b.cpuPercent - a.cpuPercent ||
			b.samples - a.samples ||
			(a.pids[0] ?? 0) - (b.pids[0] ?? 0),
	);

	function row(states: readonly ProcessState[]): ProcessRow {
		let recent = 0;
		let samples = 0;
		for (const { info } of states) {
			recent += lastInterval?.perProcess.get(info.id) ?? 0;
			samples += windowSamples.get(info.id) ?? 0;
		}
		const first = states[0] as ProcessState;
		const grouped = states.length > 1;
		return {
			key: grouped
				? `group:${first.info.exe || first.info.comm}`
				: first.info.id,
			pids: states.map((s) => s.info.pid).sort((a, b) => a - b),
			comm: first.info.comm,
			exe: first.info.exe,
			cpuPercent: cpuPercent(recent, data.config.frequencyHz, intervalMs),
			samples,
			exited: states.every((s) => s.exitedAt !== undefined),
			count: states.length,
		};
	}
}

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

function percent(part: number, whole: number): number {
	return whole > 0 ? (part / whole) * 100 : 0;
}

/** Calls `visit` for each stack of the window that passes the pid filter, with kernel frames removed if asked. */
function forEachStack(
	data: TopData,
	filter: CountFilter,
	visit: (
		frames: readonly Frame[],
		keys: readonly FunctionKey[],
		value: number,
	) => void,
): void {
	const stacksOf = (interval: Interval): Iterable<readonly StackCount[]> =>
		filter.pids.length === 0
			? [interval.stacks]
			: filter.pids.map((pid) => interval.stacksByPid.get(pid) ?? []);
	for (const interval of data.window) {
		for (const stacks of stacksOf(interval)) {
			for (const stack of stacks) {
				if (!filter.hideKernel) {
					visit(stack.frames, stack.keys, stack.value);
					continue;
				}
				const frames: Frame[] = [];
				const keys: FunctionKey[] = [];
				stack.frames.forEach((frame, i) => {
					if (frame.kernel) return;
					frames.push(frame);
					keys.push(stack.keys[i] as FunctionKey);
				});
				visit(frames, keys, stack.value);
			}
		}
	}
}

interface Tally {
	frame: Frame;
	self: number;
	total: number;
	/** Sequence number of the last stack counted into `total`, so recursion counts once. */
	seen: number;
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
	const tallies = countStacks(data, filter);
	const rows: FunctionRow[] = [];
	for (const [key, tally] of tallies.counts) {
		rows.push(
			functionRow(key, tally.frame, tally.self, tally.total, tallies.samples),
		);
	}
	return { rows, samples: tallies.samples };
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
	return { rows, samples };
}

interface Counts {
	readonly counts: ReadonlyMap<FunctionKey, Omit<Tally, "seen">>;
	readonly samples: number;
}

/** Some processes: count their stacks. */
function countStacks(data: TopData, filter: CountFilter): Counts {
	const counts = new Map<FunctionKey, Tally>();
	let samples = 0;
	let sequence = 0;
	forEachStack(data, filter, (frames, keys, value) => {
		samples += value;
		sequence++;
		for (let i = 0; i < frames.length; i++) {
			const key = keys[i] as FunctionKey;
			let tally = counts.get(key);
			if (!tally) {
				tally = { frame: frames[i] as Frame, self: 0, total: 0, seen: 0 };
				counts.set(key, tally);
			}
			if (i === 0) tally.self += value;
			if (tally.seen !== sequence) {
				tally.seen = sequence;
				tally.total += value;
			}
		}
	});
	return { counts, samples };
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

/** A neighbour of a function in the call graph. */
export interface CallEdge {
	readonly key: FunctionKey;
	readonly name: string;
	readonly module: string;
	readonly kernel: boolean;
	/** Samples in which the edge occurs, once per sample. */
	readonly samples: number;
	/** Share of the function's total. */
	readonly percent: number;
}

/** Callers and callees of one function within the window and filters. */
export interface CallGraph {
	readonly key: FunctionKey;
	readonly name: string;
	readonly module: string;
	readonly kernel: boolean;
	readonly self: number;
	readonly total: number;
	/** Frames right outside the function, by samples descending. */
	readonly callers: readonly CallEdge[];
	/** Frames right inside the function, by samples descending. */
	readonly callees: readonly CallEdge[];
}

/** perf top's call-graph expansion of one function; undefined when it has no samples. */
export function callGraph(
	data: TopData,
	filter: CountFilter,
	key: FunctionKey,
): CallGraph | undefined {
	let self = 0;
	let total = 0;
	let found: Frame | undefined;
	const callers = new Map<FunctionKey, Tally>();
	const callees = new Map<FunctionKey, Tally>();
	let sequence = 0;
	const count = (
		into: Map<FunctionKey, Tally>,
		frame: Frame,
		edgeKey: FunctionKey,
		value: number,
	) => {
		let tally = into.get(edgeKey);
		if (!tally) {
			tally = { frame, self: 0, total: 0, seen: 0 };
			into.set(edgeKey, tally);
		}
		if (tally.seen !== sequence) {
			tally.seen = sequence;
			tally.total += value;
		}
	};
	forEachStack(data, filter, (frames, keys, value) => {
		sequence++;
		let inStack = false;
		for (let i = 0; i < keys.length; i++) {
			if (keys[i] !== key) continue;
			found ??= frames[i];
			inStack = true;
			if (i === 0) self += value;
			const outer = frames[i + 1];
			if (outer) count(callers, outer, keys[i + 1] as FunctionKey, value);
			const inner = frames[i - 1];
			if (inner) count(callees, inner, keys[i - 1] as FunctionKey, value);
		}
		if (inStack) total += value;
	});
	if (!found) return undefined;
	const edges = (tallies: Map<FunctionKey, Tally>): CallEdge[] =>
		[...tallies]
			.map(([edgeKey, t]) => ({
				key: edgeKey,
				name: displayName(t.frame.name),
				module: t.frame.module,
				kernel: t.frame.kernel,
				samples: t.total,
				percent: percent(t.total, total),
			}))
			.sort((a, b) => b.samples - a.samples || a.name.localeCompare(b.name));
	return {
		key,
		name: displayName(found.name),
		module: found.module,
		kernel: found.kernel,
		self,
		total,
		callers: edges(callers),
		callees: edges(callees),
	};
}

/** Everything one screen (or one batch-mode print) shows, derived from TopData. */
export interface TopSnapshot {
	readonly refresh: number;
	/** Length of the last interval, ms. */
	readonly intervalMs: number;
	/** Samples per second over the last interval, before filters. */
	readonly samplesPerSecond: number;
	/** Samples in the window that passed the pid filter. */
	readonly windowSamples: number;
	readonly processes: readonly ProcessRow[];
	/** After the search filter, sorted by `sort`. */
	readonly functions: readonly FunctionRow[];
	readonly sort: FunctionSort;
	readonly callGraph?: CallGraph;
}

/** All of the view in one call (batch mode and tests; the UI memoises the parts). */
export function snapshot(
	data: TopData,
	filter: ViewFilter,
	callGraphKey?: FunctionKey,
	sort: FunctionSort = DEFAULT_SORT,
): TopSnapshot {
	const table = functionTable(data, filter, sort);
	return {
		refresh: data.refresh,
		intervalMs: lastIntervalMs(data),
		samplesPerSecond: samplesPerSecond(data),
		windowSamples: table.samples,
		processes: processRows(data, filter.pids),
		functions: searchFunctions(table.rows, filter.search),
		sort,
		callGraph:
			callGraphKey === undefined
				? undefined
				: callGraph(data, filter, callGraphKey),
	};
}
