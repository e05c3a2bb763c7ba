/**
 * The live view's filters, and the walk over the window's stacks that
 * applies them before anything is counted (ARCHITECTURE.md, Counting).
 */
import { countedFrames, type FunctionKey, KERNEL_ONLY_FRAME, functionKey } from "../count.js";
import type { Frame } from "../model.js";
import type { Interval, StackCount } from "./interval.js";
import type { TopData } from "./window.js";

/** Filters that change what is counted. Empty `pids` means every process. */
export interface CountFilter {
	readonly pids: readonly number[];
	readonly hideKernel: boolean;
}

/** All the view's filters. */
export interface ViewFilter extends CountFilter {
	/** Case-insensitive substring of function names; empty shows all. */
	readonly search: string;
}

export const NO_FILTER: ViewFilter = {
	pids: [],
	hideKernel: false,
	search: "",
};

const KERNEL_ONLY: readonly Frame[] = [KERNEL_ONLY_FRAME];
const KERNEL_ONLY_KEYS: readonly FunctionKey[] = [functionKey(KERNEL_ONLY_FRAME)];

/**
 * Calls `visit` for each stack of the window that passes the pid filter,
 * with the frames the counting rule counts (count.ts's countedFrames) and
 * their function keys.
 */
export function forEachStack(
	data: TopData,
	filter: CountFilter,
	visit: (
		frames: readonly Frame[],
		keys: readonly FunctionKey[],
		value: number,
	) => void,
): void {
	const stacksOf = (interval: Interval): Iterable<readonly StackCount[]> =>
		filter.pids.length === 0
			? [interval.stacks]
			: filter.pids.map((pid) => interval.stacksByPid.get(pid) ?? []);
	for (const interval of data.window) {
		for (const stacks of stacksOf(interval)) {
			for (const stack of stacks) {
				const frames = countedFrames(stack.frames, filter.hideKernel);
				if (frames === stack.frames) {
					visit(frames, stack.keys, stack.value);
				} else if (frames[0] === KERNEL_ONLY_FRAME) {
					visit(KERNEL_ONLY, KERNEL_ONLY_KEYS, stack.value);
				} else {
					// Keys kept in step with the user frames, so none is built again.
					const keys: FunctionKey[] = [];
					stack.frames.forEach((frame, i) => {
						if (!frame.kernel) keys.push(stack.keys[i] as FunctionKey);
					});
					visit(frames, keys, stack.value);
				}
			}
		}
	}
}
