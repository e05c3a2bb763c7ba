/**
 * From an unwound stack to the frames a sample carries: each pc named (the
 * sampled ip and interrupted ips as they are, return addresses as the call
 * before them), and a stack that ends early says why in a last frame.
 */
import type { Frame } from "../profile/model.js";
import type { TruncationReason, UnwindResult } from "./unwinder.js";

/** The frame that ends a truncated stack: it keeps the module of the frame above it, as unnamed frames do. */
export function truncationFrame(reason: TruncationReason, last?: Frame): Frame {
	return { name: `[unknown] (stack truncated: ${reason})`, module: last?.module ?? "[unknown]", kernel: false };
}

/**
 * Names `result.pcs` innermost first through `name` (for example
 * `(pc, ret) => symbolizer.userFrame(pid, image, pc, ret)`), appending
 * {@link truncationFrame} when the stack ended early.
 */
export function userFramesOf(result: UnwindResult, name: (pc: bigint, returnAddress: boolean) => Frame, out: Frame[] = []): Frame[] {
	const pcs = result.pcs;
	const interrupted = result.interrupted;
	for (let i = 0; i < pcs.length; i++) out.push(name(pcs[i], i > 0 && !(interrupted?.includes(i) ?? false)));
	if (result.truncated) out.push(truncationFrame(result.truncated, out.at(-1)));
	return out;
}
