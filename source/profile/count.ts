/**
 * The counting rule (ARCHITECTURE.md, Counting): what a function is, which
 * frames of a sample count, and how a sample adds to self and total. report,
 * the top tables, the call graph and the exporters all count through this
 * module, so they cannot disagree on the same samples.
 */
import { type Frame, KERNEL_MODULE } from "./model.js";

/** A stack with its weight: what every counter takes. A Sample is one. */
export interface WeightedStack {
	/** Innermost frame first. */
	readonly frames: readonly Frame[];
	/** In the profile's unit: samples, or nanoseconds of blocked time. */
	readonly value: number;
}

/** Identity of a function across processes: kernel flag, module and name. */
export type FunctionKey = string;

/**
 * Stands in for a stack that hiding kernel frames emptied: the time was
 * still spent, and hiding kernel frames must not change any total.
 */
export const KERNEL_ONLY_FRAME: Frame = Object.freeze({
	name: "[kernel]",
	module: KERNEL_MODULE,
	kernel: true,
});

/** Stands in for a sample that carries no frame at all, so self still sums to the samples. */
export const NO_STACK_FRAME: Frame = Object.freeze({
	name: "[unknown] (stack truncated: no stack was read)",
	module: "[unknown]",
	kernel: false,
	unknownReason: "stack truncated: no stack was read",
});

const KERNEL_ONLY: readonly Frame[] = Object.freeze([KERNEL_ONLY_FRAME]);
const NO_STACK: readonly Frame[] = Object.freeze([NO_STACK_FRAME]);
const UNKNOWN_ADDRESS = /^\[unknown\](\s+0x[0-9a-f]+)/i;

/**
 * The name a frame is counted and shown under. Unnamed frames carry their
 * address in the name; they are merged per module and reason, or one hot
 * stripped library would fill a table with one row per instruction.
 */
export function displayName(name: string): string {
	return name.startsWith("[unknown]")
		? name.replace(UNKNOWN_ADDRESS, "[unknown]")
		: name;
}

/** The function a frame belongs to. */
export function functionKey(frame: Frame): FunctionKey {
	return `${frame.kernel ? "k" : "u"}${frame.module}\0${displayName(frame.name)}`;
}

/**
 * The frames a stack is counted with, never empty: kernel frames dropped
 * when hidden, a stack left empty by that counted as `[kernel]`, and a
 * stack that had no frame at all as `[unknown] (stack truncated: no stack was read)`. Returns `frames`
 * itself when nothing changes.
 */
export function countedFrames(
	frames: readonly Frame[],
	hideKernel: boolean,
): readonly Frame[] {
	if (frames.length === 0) return NO_STACK;
	if (!hideKernel || !frames.some((f) => f.kernel)) return frames;
	const user = frames.filter((f) => !f.kernel);
	return user.length > 0 ? user : KERNEL_ONLY;
}

/** Self and total of one function; `mark` is the counter's own. */
export interface Tally {
	self: number;
	total: number;
	/** Serial of the last sample counted into `total`. */
	mark: number;
}

/**
 * Counts one sample of `value` whose counted frames' tallies are `path`
 * (innermost first): self for the innermost, total once for each distinct
 * tally. `serial` must differ from every serial used before with these
 * tallies; that is what makes recursion count once.
 */
export function countOnce(
	path: readonly Tally[],
	value: number,
	serial: number,
): void {
	const inner = path[0];
	if (inner === undefined) return;
	inner.self += value;
	for (let i = 0; i < path.length; i++) {
		const tally = path[i] as Tally;
		if (tally.mark !== serial) {
			tally.mark = serial;
			tally.total += value;
		}
	}
}

/** Self and total of one function, with the frame it was first seen with. */
export interface FunctionCount {
	readonly key: FunctionKey;
	readonly frame: Frame;
	readonly self: number;
	readonly total: number;
}

interface KeyedTally extends Tally {
	readonly key: FunctionKey;
	readonly frame: Frame;
}

/**
 * Counts weighted stacks by function with the rule above. `report` runs it
 * over a file, `top` over the stacks of some processes; both get the same
 * figures for the same stacks.
 */
export class FunctionCounter {
	readonly #hideKernel: boolean;
	readonly #byKey = new Map<FunctionKey, KeyedTally>();
	/** Symbolizers hand out one Frame per function, so most lookups stop here. */
	readonly #byFrame = new Map<Frame, KeyedTally>();
	readonly #path: KeyedTally[] = [];
	#serial = 0;
	#value = 0;

	constructor(options: { readonly hideKernel?: boolean } = {}) {
		this.#hideKernel = options.hideKernel === true;
	}

	/** Sum of the values counted. */
	get value(): number {
		return this.#value;
	}

	/**
	 * Counts one stack. `keys`, when given, are the functionKey of each of
	 * `stack.frames`, so a caller that keeps them saves building them again.
	 */
	add(stack: WeightedStack, keys?: readonly FunctionKey[]): void {
		const frames = countedFrames(stack.frames, this.#hideKernel);
		const sameFrames = frames === stack.frames;
		const path = this.#path;
		path.length = frames.length;
		for (let i = 0; i < frames.length; i++) {
			const frame = frames[i] as Frame;
			path[i] = this.#tally(
				frame,
				sameFrames && keys !== undefined ? keys[i] : undefined,
			);
		}
		countOnce(path, stack.value, ++this.#serial);
		this.#value += stack.value;
	}

	#tally(frame: Frame, known: FunctionKey | undefined): KeyedTally {
		const cached = this.#byFrame.get(frame);
		if (cached !== undefined) return cached;
		const key = known ?? functionKey(frame);
		let tally = this.#byKey.get(key);
		if (tally === undefined) {
			tally = { key, frame, self: 0, total: 0, mark: 0 };
			this.#byKey.set(key, tally);
		}
		this.#byFrame.set(frame, tally);
		return tally;
	}

	/** Every function counted, in no particular order. */
	counts(): FunctionCount[] {
		const out: FunctionCount[] = [];
		for (const t of this.#byKey.values())
			out.push({ key: t.key, frame: t.frame, self: t.self, total: t.total });
		return out;
	}
}
