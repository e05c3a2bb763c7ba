/**
 * The live view's process list: CPU % over the last interval, samples over
 * the window, tombstones of exited processes, and storms folded into one row.
 */
import { cpuPercent } from "./rates.js";
import { unknownPercent } from "./unknown-frames.js";
import { last, lastIntervalMs, type ProcessState, type TopData } from "./window.js";

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
	/**
	 * UNK%: unknown frames / all frames of the row's samples over the window,
	 * weighted by sample value (unknown-frames.ts has the whole rule);
	 * undefined when the window holds no sample of it.
	 */
	readonly unknownPercent: number | undefined;
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
	const windowFrames = data.totals.framesPerProcess;
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
		let frames = 0;
		let unknown = 0;
		for (const { info } of states) {
			recent += lastInterval?.perProcess.get(info.id) ?? 0;
			samples += windowSamples.get(info.id) ?? 0;
			const count = windowFrames.get(info.id);
			frames += count?.frames ?? 0;
			unknown += count?.unknown ?? 0;
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
			unknownPercent: unknownPercent({ frames, unknown }),
			exited: states.every((s) => s.exitedAt !== undefined),
			count: states.length,
		};
	}
}
