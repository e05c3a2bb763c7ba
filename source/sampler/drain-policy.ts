/**
 * When the session drains the kernel buffers next (ARCHITECTURE.md, Who owns
 * what: drain timing). The session alone keeps the timer; this is its rule,
 * pure so it can be tested without one.
 */

/** What a command asks of the drain timing. */
export interface DrainPolicy {
	/** The longest time between two drains. */
	readonly intervalMs: number;
	/**
	 * While no sample has come yet, drain at least this often, so that a live
	 * view has something to show soon after start; undefined: no such hurry.
	 */
	readonly earlyMs?: number;
}

/** What the session knows after its last drain. */
export interface DrainState {
	/** Drains done so far. */
	readonly drains: number;
	/** Whether any drain has delivered a sample. */
	readonly sawSamples: boolean;
	/** Lifecycle events in the last drain. */
	readonly lastEvents: number;
}

/** The first drain comes this soon after start: the view's first second is not empty. */
export const FIRST_DRAIN_MS = 50;
/** Lifecycle events in one drain that mean processes are starting by the hundred a second. */
export const STORM_EVENTS = 256;
/**
 * A storm of process starts fills the side-band rings in proportion to time:
 * while one lasts, drain at least this often, whatever the interval.
 */
export const STORM_DRAIN_MS = 250;

/** Milliseconds from the end of the last drain (or from start) to the next. */
export function nextDrainDelay(policy: DrainPolicy, state: DrainState): number {
	let delay = policy.intervalMs;
	if (state.drains === 0) delay = Math.min(delay, FIRST_DRAIN_MS);
	if (state.lastEvents >= STORM_EVENTS) delay = Math.min(delay, STORM_DRAIN_MS);
	if (!state.sawSamples && policy.earlyMs !== undefined)
		delay = Math.min(delay, policy.earlyMs);
	return Math.max(0, delay);
}
