/**
 * Frame-pointer walking over a stack copy: each frame's rbp points at the
 * caller's saved rbp, with the return address above it. Enough for code
 * built with frame pointers; it stands until the CFI unwinder replaces it.
 */
import type { UserRegs } from "../kernel/abi.js";
import type { Image } from "../process/image.js";
import type { UnwoundStack, UserUnwinder } from "./user-stack.js";

const MAX_FRAMES = 127;

export class FramePointerUnwinder implements UserUnwinder {
	unwind(_pid: number, _image: Image, regs: UserRegs, stack: Uint8Array, stackCut: boolean): UnwoundStack {
		const view = new DataView(stack.buffer, stack.byteOffset, stack.byteLength);
		const read = (addr: bigint): bigint | undefined => {
			const off = addr - regs.sp;
			if (off < 0n || off + 8n > BigInt(stack.byteLength)) return undefined;
			return view.getBigUint64(Number(off), true);
		};
		const pcs = [regs.ip];
		let bp = regs.bp;
		while (pcs.length < MAX_FRAMES) {
			if (bp === 0n) return { pcs };
			const ra = read(bp + 8n);
			const next = read(bp);
			if (ra === undefined || next === undefined) return { pcs, truncated: stackCut ? "stack copy too short" : "unreadable memory" };
			if (ra === 0n) return { pcs };
			pcs.push(ra);
			// The stack grows down: a caller's frame is always above.
			if (next !== 0n && next <= bp) return { pcs };
			bp = next;
		}
		return { pcs, truncated: "too many frames" };
	}
}
