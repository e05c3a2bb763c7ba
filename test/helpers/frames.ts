/** Frames as the symbolizer hands them out, for tests that build samples by hand. */
import { type Frame, KERNEL_MODULE } from "../../source/profile/model.js";

/** A named user-space frame of `module`. */
export function userFrame(name: string, module: string): Frame {
	return { name, module, kernel: false };
}

/** A named kernel frame. */
export function kernelFrame(name: string): Frame {
	return { name, module: KERNEL_MODULE, kernel: true };
}
