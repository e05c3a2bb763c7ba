/**
 * The live view's window: the last few closed intervals, their running
 * sums, and the processes it knows, with tombstones for the exited ones.
 * Immutable; advance() returns the next one.
 */
import type { FunctionKey } from "../count.js";
import type { Frame } from "../model.js";
import type { ClosedInterval, Interval, ProcessId, ProcessInfo } from "./interval.js";
import { perSecond } from "./rates.js";
import type { FrameCount } from "./unknown-frames.js";

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
	/** Weighted frames per process over the window (Interval.framesPerProcess). */
	readonly framesPerProcess: ReadonlyMap<ProcessId, FrameCount>;
	/** Sum of all sample values in the window. */
	readonly samples: number;
	/** Value of the window's kernel-only stacks (Interval.kernelOnly). */
	readonly kernelOnly: number;
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
	framesPerProcess: new Map(),
	samples: 0,
	kernelOnly: 0,
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
	const framesPerProcess = new Map(previous.framesPerProcess);
	let samples = previous.samples;
	let kernelOnly = previous.kernelOnly;
	const apply = (interval: Interval, sign: 1 | -1) => {
		samples += sign * interval.total;
		kernelOnly += sign * interval.kernelOnly;
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
		for (const [id, count] of interval.framesPerProcess) {
			const known = framesPerProcess.get(id);
			const frames = (known?.frames ?? 0) + sign * count.frames;
			// unknown never exceeds frames: nothing is left of a process at 0 frames.
			if (frames <= 0) framesPerProcess.delete(id);
			else framesPerProcess.set(id, { frames, unknown: (known?.unknown ?? 0) + sign * count.unknown });
		}
	};
	for (const interval of dropped) apply(interval, -1);
	for (const interval of added) apply(interval, 1);
	return { functions, perProcess, framesPerProcess, samples, kernelOnly };
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
		framesPerProcess: closed.framesPerProcess,
		total: closed.total,
		kernelOnly: closed.kernelOnly,
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

export function last<T>(items: readonly T[]): T | undefined {
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
