/**
 * How much of a process's stacks tsprof could not name: top's UNK% column,
 * so a user sees at a glance which processes need debug symbols or a perf
 * map before reading their functions (`?` explains the reasons).
 *
 * The share counts frames, not samples: UNK% = unknown frames / all frames,
 * over the stacks of the process's samples in the window, each frame
 * weighted by its sample's value (samples on-CPU, nanoseconds of blocked
 * time off-CPU). A stack of 10 frames with 2 unnamed, sampled 30 times,
 * adds 60 unknown frames of 300. All frames count, kernel ones included, as
 * the function table shows them; hiding kernel frames (`k`) leaves the share
 * alone, as it leaves the process list alone. A sample with no stack counts
 * as one unknown frame, `[unknown] (stack truncated: no stack was read)`,
 * as the function table counts it. Off-CPU stacks' innermost `[wait] REASON`
 * is the view's own pseudo-frame, not code, and counts in neither.
 */
import type { Frame } from "../model.js";
import { WAIT_MODULE } from "./wait-frames.js";

/** Frames of some stacks, each weighted by its stack's value. */
export interface FrameCount {
	readonly frames: number;
	/** Those that could not be named. */
	readonly unknown: number;
}

/** A frame that could not be named; the name is the contract for frames read back from a recording. */
export function isUnknownFrame(frame: Frame): boolean {
	return frame.unknownReason !== undefined || frame.name.startsWith("[unknown]");
}

/** The frames of one stack, once (unweighted). */
export function stackFrameCount(frames: readonly Frame[]): FrameCount {
	let counted = 0;
	let unknown = 0;
	for (const frame of frames) {
		if (frame.module === WAIT_MODULE) continue;
		counted++;
		if (isUnknownFrame(frame)) unknown++;
	}
	return { frames: counted, unknown };
}

/** UNK%: 0 to 100; undefined when there is no frame to judge by (a tombstone whose samples left the window). */
export function unknownPercent(count: FrameCount | undefined): number | undefined {
	if (!count || count.frames <= 0) return undefined;
	return (count.unknown / count.frames) * 100;
}
