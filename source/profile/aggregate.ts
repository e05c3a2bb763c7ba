/**
 * Pure aggregation of samples into per-process and per-function counts.
 * `report` runs it once over a file; `top` runs it on every refresh, so it
 * is one pass over the frames with Map lookups and no per-frame allocation.
 */
import {
	type Frame,
	KERNEL_MODULE,
	type Sample,
	type SampleFilter,
} from "./model.js";

/** CPU (or blocked time) of one process. */
export interface ProcessRow {
	/** Process id (thread group id). */
	readonly pid: number;
	/** Process start time, ns of CLOCK_MONOTONIC: tells apart reused pids. */
	readonly startNs: bigint;
	/** The name the process is best known by (see `aggregate`). */
	readonly comm: string;
	/** Absolute path of the executable; empty when unknown. */
	readonly exe: string;
	/** Sum of sample values (samples, or nanoseconds). */
	readonly samples: number;
}

/** Self and total of one function, identified by (name, module). */
export interface FunctionRow {
	/** Function name, as the frames carry it. */
	readonly name: string;
	/** File that holds the code; `[kernel]` for the kernel. */
	readonly module: string;
	/** True for kernel functions. */
	readonly kernel: boolean;
	/** Value of the samples whose innermost frame is this function. */
	readonly self: number;
	/** Value of the samples with this function anywhere in the stack, once per sample. */
	readonly total: number;
}

/** The result of `aggregate`. */
export interface Aggregate {
	/** Sum of the values of the samples that passed the filter. */
	readonly total: number;
	/** Sorted by samples, descending. */
	readonly processes: readonly ProcessRow[];
	/** Sorted by self, then total, descending; then by name. */
	readonly functions: readonly FunctionRow[];
}

/**
 * Stands in for a stack that `hideKernel` emptied: the time was still spent,
 * and hiding kernel frames must not change totals or the process table.
 */
export const KERNEL_ONLY_FRAME: Frame = Object.freeze({
	name: "[kernel]",
	module: KERNEL_MODULE,
	kernel: true,
});

/**
 * Stands in for a sample that carries no frame at all (the stack could not be
 * read), so that the self column still sums to the total.
 */
export const NO_STACK_FRAME: Frame = Object.freeze({
	name: "[unknown] (stack truncated: no stack was read)",
	module: "[unknown]",
	kernel: false,
	unknownReason: "stack truncated: no stack was read",
});

/**
 * Returns a predicate for the pid and comm parts of `filter`, or undefined
 * when they select everything (callers can then skip the per-sample test).
 */
export function samplePredicate(
	filter: SampleFilter,
): ((sample: Sample) => boolean) | undefined {
	const pids =
		filter.pids && filter.pids.length > 0 ? new Set(filter.pids) : undefined;
	const comms =
		filter.comms && filter.comms.length > 0 ? new Set(filter.comms) : undefined;
	if (pids === undefined && comms === undefined) return undefined;
	return (s) =>
		(pids === undefined || pids.has(s.pid)) &&
		(comms === undefined || comms.has(s.comm));
}

/**
 * The samples that pass `filter`. With `hideKernel`, kernel frames are
 * removed from each stack and a stack left empty becomes `[KERNEL_ONLY_FRAME]`;
 * `aggregate` counts the same way, so either can be applied first.
 * Returns the input array itself when the filter selects everything.
 */
export function filterSamples(
	samples: readonly Sample[],
	filter: SampleFilter,
): readonly Sample[] {
	const keep = samplePredicate(filter);
	const hide = filter.hideKernel === true;
	if (keep === undefined && !hide) return samples;
	const out: Sample[] = [];
	for (const s of samples) {
		if (keep !== undefined && !keep(s)) continue;
		out.push(hide ? withoutKernelFrames(s) : s);
	}
	return out;
}

function withoutKernelFrames(s: Sample): Sample {
	if (!s.frames.some((f) => f.kernel)) return s;
	const user = s.frames.filter((f) => !f.kernel);
	return { ...s, frames: user.length > 0 ? user : [KERNEL_ONLY_FRAME] };
}

class FunctionAcc {
	self = 0;
	total = 0;
	/** Index of the last sample that added to `total`: counts recursion once. */
	seen = -1;
	constructor(
		readonly name: string,
		readonly module: string,
		readonly kernel: boolean,
	) {}
}

/** One (comm, exe) a process was seen with: exec changes both, threads rename. */
interface Variant {
	readonly comm: string;
	readonly exe: string;
	value: number;
	/** Value from the main thread (tid === pid), whose comm `ps` shows. */
	leaderValue: number;
}

class ProcessAcc {
	samples = 0;
	readonly variants: Variant[] = [];
	last: Variant | undefined;
	constructor(
		readonly pid: number,
		readonly startNs: bigint,
	) {}

	add(s: Sample): void {
		this.samples += s.value;
		let v = this.last;
		if (v === undefined || v.comm !== s.comm || v.exe !== s.exe) {
			v = this.variants.find((x) => x.comm === s.comm && x.exe === s.exe);
			if (v === undefined) {
				v = { comm: s.comm, exe: s.exe, value: 0, leaderValue: 0 };
				this.variants.push(v);
			}
			this.last = v;
		}
		v.value += s.value;
		if (s.tid === s.pid) v.leaderValue += s.value;
	}

	/** The name the process is best known by: the main thread's, after exec. */
	row(): ProcessRow {
		let best = this.variants[0] as Variant;
		for (const v of this.variants) {
			if (
				v.leaderValue > best.leaderValue ||
				(v.leaderValue === best.leaderValue && v.value > best.value)
			) {
				best = v;
			}
		}
		return {
			pid: this.pid,
			startNs: this.startNs,
			comm: best.comm,
			exe: best.exe,
			samples: this.samples,
		};
	}
}

/**
 * Per-process and per-function counts of the samples that pass `filter`
 * (pids and comms apply before anything is counted).
 *
 * A process is identified by (pid, startNs), so a reused pid yields two rows;
 * its comm and exe are those it spent the most time with on its main thread,
 * which picks the post-exec name over the fork parent's.
 */
export function aggregate(
	samples: readonly Sample[],
	filter: SampleFilter = {},
): Aggregate {
	const keep = samplePredicate(filter);
	const hide = filter.hideKernel === true;
	// Two levels instead of a concatenated key: no string is built per frame.
	const byModule = new Map<string, Map<string, FunctionAcc>>();
	const byPid = new Map<number, ProcessAcc[]>();
	let total = 0;

	const fn = (f: Frame): FunctionAcc => {
		let names = byModule.get(f.module);
		if (names === undefined) {
			names = new Map();
			byModule.set(f.module, names);
		}
		let acc = names.get(f.name);
		if (acc === undefined) {
			acc = new FunctionAcc(f.name, f.module, f.kernel);
			names.set(f.name, acc);
		}
		return acc;
	};

	for (let i = 0; i < samples.length; i++) {
		const s = samples[i] as Sample;
		if (keep !== undefined && !keep(s)) continue;
		const v = s.value;
		total += v;

		let procs = byPid.get(s.pid);
		if (procs === undefined) {
			procs = [];
			byPid.set(s.pid, procs);
		}
		let proc = procs.find((p) => p.startNs === s.startNs);
		if (proc === undefined) {
			proc = new ProcessAcc(s.pid, s.startNs);
			procs.push(proc);
		}
		proc.add(s);

		const frames = s.frames;
		let counted = false;
		for (let j = 0; j < frames.length; j++) {
			const f = frames[j] as Frame;
			if (hide && f.kernel) continue;
			const acc = fn(f);
			if (!counted) {
				acc.self += v;
				counted = true;
			}
			if (acc.seen !== i) {
				acc.seen = i;
				acc.total += v;
			}
		}
		if (!counted) {
			const acc = fn(frames.length > 0 ? KERNEL_ONLY_FRAME : NO_STACK_FRAME);
			acc.self += v;
			acc.total += v;
		}
	}

	const processes: ProcessRow[] = [];
	for (const procs of byPid.values()) {
		for (const p of procs) processes.push(p.row());
	}
	processes.sort(
		(a, b) =>
			b.samples - a.samples ||
			a.pid - b.pid ||
			(a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0),
	);

	const functions: FunctionRow[] = [];
	for (const names of byModule.values()) {
		for (const a of names.values()) {
			functions.push({
				name: a.name,
				module: a.module,
				kernel: a.kernel,
				self: a.self,
				total: a.total,
			});
		}
	}
	functions.sort(
		(a, b) =>
			b.self - a.self ||
			b.total - a.total ||
			compareStrings(a.name, b.name) ||
			compareStrings(a.module, b.module),
	);

	return { total, processes, functions };
}

/** Code-unit order: deterministic and locale-independent, unlike localeCompare. */
function compareStrings(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}
