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
}

/** Turns registers and a stack copy into return addresses. */
export interface UserUnwinder {
	/**
	 * `stack` starts at `regs.sp`; `stackCut` says the kernel stopped copying
	 * at its budget rather than at the end of the stack.
	 */
	unwind(pid: number, image: Image, regs: UserRegs, stack: Uint8Array, stackCut: boolean): UnwoundStack;
}
