/**
 * The interface between the sampler and the live views (`top`, and `record`'s
 * progress line). The sampler implements it over the kernel; tests and
 * `top --input` implement it over fixed data.
 */
import type { Sample } from "./model.js";

/** Identity of a process: pids get reused, (pid, start time) does not. */
export interface ProcessKey {
	readonly pid: number;
	readonly startNs: bigint;
}

/** What one drain of the kernel buffers produced, already symbolized. */
export interface LiveBatch {
	/** Samples taken since the previous batch. */
	readonly samples: readonly Sample[];
	/** Blocked time since the previous batch, values in nanoseconds (when asked for). */
	readonly offCpu?: readonly Sample[];
	/** Processes whose exit was seen in this batch. */
	readonly exited: readonly ProcessKey[];
	/** Wall-clock time of the drain, ms since the epoch: every sample taken before it is in this batch or an earlier one. */
	readonly timeMs: number;
}

/** Counts of the BPF map cleanup (ARCHITECTURE.md, Principles: 5). */
export interface MapCleanupStats {
	readonly batchDeletes: number;
	readonly fallbackDeletes: number;
	readonly failures: number;
}

/** Running totals of a sampling session, for headers and summaries. */
export interface SamplerStats {
	readonly frequencyHz: number;
	readonly cpus: number;
	/** Samples delivered so far. */
	readonly samples: number;
	/** Samples lost so far, whole (full map) or in part (a stack that could not be taken or read). */
	readonly lostSamples: number;
	/** Processes seen so far. */
	readonly processesSeen: number;
	/** Exited processes whose information is still kept for attribution. */
	readonly deferredProcesses: number;
	readonly mapCleanup: MapCleanupStats;
}

/** A source of live samples. */
export interface LiveSource {
	/** Calls `listener` once per drain; returns the unsubscribe function. */
	subscribe(listener: (batch: LiveBatch) => void): () => void;
	stats(): SamplerStats;
	/** Whether a process with this pid exists now. */
	pidExists(pid: number): boolean;
	/**
	 * Delivers what has been sampled up to now, through `subscribe`, before it
	 * resolves; a view calls it just before it refreshes, so that what it shows
	 * is current and the source need not deliver more often than it draws.
	 * Sources whose batches are always current need not have it.
	 */
	flush?(): Promise<void>;
	/** Detaches everything; idempotent. */
	close(): Promise<void>;
}
