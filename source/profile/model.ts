/**
 * The profile model every layer above the sampler shares: the sampler
 * produces it, `record` writes it, `report` and `top` read it.
 * Frames are already resolved to names here; nothing below this line of the
 * data flow needs the process table or the symbol caches any more.
 */

/** One stack frame, named. */
export interface Frame {
	/** Function name; `[unknown] 0x... (reason)` when it cannot be named. */
	readonly name: string;
	/** Absolute path of the file that holds the code, `[kernel]` for the kernel. */
	readonly module: string;
	/** True for kernel frames. */
	readonly kernel: boolean;
	/** Instruction address as seen by the process (or the kernel), when known. */
	readonly address?: bigint;
	/** Hex build-id of `module`, when known. */
	readonly buildId?: string;
	/** The mapping that holds `address`: start, limit (exclusive) and file offset. */
	readonly mapping?: MappingRange;
	/** Why the frame could not be named (the text in its name's parentheses); unset for named frames. */
	readonly unknownReason?: string;
}

/** Where a file was mapped in a process. */
export interface MappingRange {
	readonly start: bigint;
	readonly limit: bigint;
	readonly offset: bigint;
}

/** One aggregated stack of one thread of one process. */
export interface Sample {
	readonly pid: number;
	readonly tid: number;
	/** Process start time, ns of CLOCK_MONOTONIC; with pid it identifies the process. */
	readonly startNs: bigint;
	readonly comm: string;
	/** Absolute path of the executable; empty when unknown. */
	readonly exe: string;
	/** Innermost frame first. */
	readonly frames: readonly Frame[];
	/** Number of samples, or nanoseconds when the profile's unit says so. */
	readonly value: number;
	/** Off-CPU only: what the thread waited for (lock, pipe, disk I/O, ...). */
	readonly waitReason?: string;
}

/** What a profile's values count. */
export type Unit = "samples" | "nanoseconds";

/** A whole profile: what `record` writes and `report` reads. */
export interface Profile {
	readonly samples: readonly Sample[];
	readonly unit: Unit;
	readonly frequencyHz: number;
	/** Wall-clock start, ms since the epoch. */
	readonly startTimeMs: number;
	readonly durationMs: number;
	/** Samples the kernel side could not deliver (full map, failed stack, lost records). */
	readonly lostSamples: number;
}

/** Sample filters: applied before anything is counted. Empty lists mean "all". */
export interface SampleFilter {
	readonly pids?: readonly number[];
	readonly comms?: readonly string[];
	/** Drop kernel frames from stacks (top's `k`). */
	readonly hideKernel?: boolean;
}

export const KERNEL_MODULE = "[kernel]";
