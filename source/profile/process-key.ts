/**
 * The one place a process's identity is built (ARCHITECTURE.md,
 * Principles: 2): pids get reused, (pid, start time) does not.
 */

/** Identity of a process: pid and start time, ns of CLOCK_MONOTONIC. */
export interface ProcessIdentity {
	readonly pid: number;
	readonly startNs: bigint;
}

/** `${pid}:${startNs}`, usable as a Map key. */
export type ProcessKeyString = string;

/** The key of the process `pid` started at `startNs`. */
export function processKey(pid: number, startNs: bigint): ProcessKeyString {
	return `${pid}:${startNs}`;
}

/** The key of `process` (a sample, an exit, a process row). */
export function keyOf(process: ProcessIdentity): ProcessKeyString {
	return processKey(process.pid, process.startNs);
}
