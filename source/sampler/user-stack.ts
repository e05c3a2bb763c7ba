/**
 * What the session needs from an unwinder: the kernel hands over a thread's
 * user registers and a copy of its stack, and the unwinder turns them into
 * the return addresses of the calls in progress (ARCHITECTURE.md, Principles:
 * 7). Unwinding happens in user space, after the sample, against the mappings
 * captured while the process lived, so a process that is already gone keeps
 * its callers.
 */
import type { UserRegs } from "../kernel/abi.js";
import type { Image } from "../process/image.js";

/** The user part of one stack. */
export interface UnwoundStack {
	/** Innermost first: `pcs[0]` is where the thread was; the rest are return addresses. */
	readonly pcs: readonly bigint[];
	/** Why the walk stopped before the outermost frame, when it did. */
	readonly truncated?: string;
	/** Indexes of pcs a signal interrupted: where the thread was, not return addresses. */
	readonly interrupted?: readonly number[];
}

/** Turns registers and a stack copy into return addresses. */
export interface UserUnwinder {
	/**
	 * `stack` starts at `regs.sp`; `stackCut` says the kernel stopped copying
	 * at its budget rather than at the end of the stack.
	 */
	unwind(pid: number, image: Image, regs: UserRegs, stack: Uint8Array, stackCut: boolean, tid?: number): UnwoundStack;
	/**
	 * The stack copies handed over so far are about to be overwritten. An
	 * unwinder that keeps a thread's last walk to join (given `tid`) must
	 * drop it.
	 */
	forgetStacks?(): void;
	/** Files whose tables it compiled, or failed to. */
	stats?(): { readonly tables: { readonly misses: number; readonly errors: number } };
}

/**
 * Joins a short unwind with a longer frame-pointer walk of the same stack.
 * Off-CPU blocks keep only the top of the stack: the unwinder names the
 * frames there, including the callers frame pointers skip; where the copy
 * ends, the frame-pointer walk goes on from the same return address, when it
 * saw that address too.
 */
export function spliceStacks(unwound: UnwoundStack, fpIps: ArrayLike<bigint>): UnwoundStack {
	if (!unwound.truncated || unwound.pcs.length === 0) return unwound;
	const last = unwound.pcs[unwound.pcs.length - 1];
	for (let j = fpIps.length - 1; j >= 0; j--) {
		if (fpIps[j] !== last) continue;
		const pcs = [...unwound.pcs];
		for (let k = j + 1; k < fpIps.length; k++) pcs.push(fpIps[k]);
		return { pcs, ...(unwound.interrupted ? { interrupted: unwound.interrupted } : {}) };
	}
	return unwound;
}
