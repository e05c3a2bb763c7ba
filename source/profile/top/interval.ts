/**
 * Collects the batches that arrive between two refreshes of the live view.
 * Counts go through the counting rule (ARCHITECTURE.md, Counting): self and
 * total once per sample, unnamed addresses merged, hidden kernel frames
 * leaving `[kernel]` behind.
 */
import {
	countOnce,
	type FunctionKey,
	functionKey,
	NO_STACK_FRAME,
} from "../count.js";
import type { LiveBatch } from "../live.js";
import type { Frame, Sample } from "../model.js";
import { keyOf, type ProcessKeyString } from "../process-key.js";
import { type FrameCount, stackFrameCount } from "./unknown-frames.js";

const NO_STACK: readonly Frame[] = Object.freeze([NO_STACK_FRAME]);

/** `${pid}:${startNs}` (process-key.ts): pids get reused, this does not. */
export type ProcessId = ProcessKeyString;

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
	/** The same with kernel frames hidden (top's `k`): self moves to the innermost user frame. */
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
	/** Frames of each process's stacks, weighted by sample value: its UNK% (unknown-frames.ts). */
	readonly framesPerProcess: ReadonlyMap<ProcessId, FrameCount>;
	/** Sum of all sample values in this interval. */
	readonly total: number;
	/** Value of the samples whose stacks hold only kernel frames: `[kernel]` when those are hidden. */
	readonly kernelOnly: number;
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
	/** Serial of the last sample counted into `total` (count.ts's countOnce). */
	mark: number;
}

interface MutableFrameCount {
	frames: number;
	unknown: number;
}

interface MutableStack {
	process: ProcessId;
	pid: number;
	frames: readonly Frame[];
	/** The stack's own frames, counted once when it is first seen. */
	frameCount: FrameCount;
	/** Its process's weighted frames, so a sample adds to them without a lookup. */
	processFrames: MutableFrameCount;
	keys: readonly FunctionKey[];
	value: number;
	/** The tally of each frame, innermost first: the stack's identity within the interval. */
	path: readonly MutableTally[];
	/** Innermost user frame's tally: where self goes when kernel frames are hidden; none for a kernel-only stack. */
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
 * before costs one countOnce over its tallies.
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
	#framesPerProcess = new Map<ProcessId, MutableFrameCount>();
	#processes = new Map<ProcessId, ProcessInfo>();
	/** Last process seen under each pid, so a sample costs no id string (and no bigint to text). */
	#byPidCache = new Map<number, ProcessInfo>();
	#exited: ProcessId[] = [];
	#total = 0;
	#kernelOnly = 0;
	#serial = 0;
	/** The path of the sample being added; copied only when its stack is new. */
	#scratch: MutableTally[] = [];
	/** Symbolizers hand out the same Frame for the same function; its key is built once. */
	readonly #keys = new WeakMap<Frame, FunctionKey>();

	/**
	 * The newest drain instant among the batches added: samples up to then
	 * are in. Rates are counts over the time the samples cover, so an
	 * interval ends there, not when the view happens to take it: a view that
	 * draws at 1.0 s what was drained at 0.1 s would otherwise divide 0.9 s
	 * of samples by 0.1 s (ARCHITECTURE.md, Who owns what: drain timing).
	 */
	#coveredMs = 0;

	constructor(startMs: number) {
		this.#startMs = startMs;
	}

	/** Sum of sample values added since the last take(). */
	get total(): number {
		return this.#total;
	}

	add(batch: LiveBatch): void {
		for (const sample of batch.samples) this.addSample(sample);
		for (const key of batch.exited) this.#exited.push(keyOf(key));
		if (batch.timeMs > this.#coveredMs) this.#coveredMs = batch.timeMs;
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

	#newStack(
		id: ProcessId,
		sample: Sample,
		frames: readonly Frame[],
		path: MutableTally[],
	): MutableStack {
		let processFrames = this.#framesPerProcess.get(id);
		if (!processFrames) {
			processFrames = { frames: 0, unknown: 0 };
			this.#framesPerProcess.set(id, processFrames);
		}
		const stack: MutableStack = {
			process: id,
			pid: sample.pid,
			frames,
			frameCount: stackFrameCount(frames),
			processFrames,
			keys: path.map((t) => t.key),
			value: 0,
			path,
			innerUser: path.find((t) => !t.frame.kernel),
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
				: keyOf(sample);
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
		const { value } = sample;
		const frames = sample.frames.length > 0 ? sample.frames : NO_STACK;
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
			stack = this.#newStack(id, sample, frames, path.slice());
			if (bucket) bucket.push(stack);
			else this.#buckets.set(hash, [stack]);
		}
		stack.value += value;
		stack.processFrames.frames += value * stack.frameCount.frames;
		stack.processFrames.unknown += value * stack.frameCount.unknown;
		countOnce(stack.path, value, ++this.#serial);
		if (stack.innerUser) stack.innerUser.userSelf += value;
		else this.#kernelOnly += value;
		this.#perProcess.set(id, (this.#perProcess.get(id) ?? 0) + value);
		this.#total += value;
	}

	/** Closes the interval at the newest drain instant added (else at `nowMs`) and starts the next one there. */
	take(nowMs: number): ClosedInterval {
		// The newest drain instant, unless it is from another clock (after now).
		const coveredMs = this.#coveredMs <= nowMs ? this.#coveredMs : 0;
		// It ends the interval when a drain came since the start; else now does.
		const endMs = coveredMs > this.#startMs ? coveredMs : nowMs;
		const closed: ClosedInterval = {
			startMs: this.#startMs,
			endMs,
			stacks: this.#stacks,
			stacksByPid: this.#byPid,
			functions: this.#functions,
			perProcess: this.#perProcess,
			framesPerProcess: this.#framesPerProcess,
			total: this.#total,
			kernelOnly: this.#kernelOnly,
			processes: this.#processes,
			exited: this.#exited,
		};
		// Samples drained later cover the time since the last drain, even when
		// this interval had none and ended at nowMs.
		this.reset(coveredMs > 0 ? coveredMs : endMs);
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
		this.#framesPerProcess = new Map();
		this.#processes = new Map();
		this.#byPidCache = new Map();
		this.#exited = [];
		this.#total = 0;
		this.#kernelOnly = 0;
	}
}
