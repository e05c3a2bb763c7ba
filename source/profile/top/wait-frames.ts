/**
 * The live view's off-CPU stacks end in what the thread waited for: an
 * innermost pseudo-frame `[wait] REASON`. Its self time is then the blocked
 * time by reason, per process when the view is filtered to one, and the
 * functions above it keep their totals.
 */
import type { Frame, Sample } from "../model.js";

/** The module of the wait pseudo-frames: what is not code in an off-CPU stack. */
export const WAIT_MODULE = "[wait]";

const frames = new Map<string, Frame>();

/** One frame object per reason: the counting keys frames by identity too. */
function waitFrame(reason: string): Frame {
	let frame = frames.get(reason);
	if (!frame) {
		frame = Object.freeze({ name: `[wait] ${reason}`, module: WAIT_MODULE, kernel: false });
		frames.set(reason, frame);
	}
	return frame;
}

/** `samples` with their wait reason as the innermost frame; samples without one are kept as they are. */
export function withWaitFrames(samples: readonly Sample[]): Sample[] {
	return samples.map((s) => (s.waitReason ? { ...s, frames: [waitFrame(s.waitReason), ...s.frames] } : s));
}
