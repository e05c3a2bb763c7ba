/**
 * The last walk of each thread, so that the next walk of the same thread can
 * stop where the two stacks meet. Between two samples a busy thread changes
 * its innermost frames; its outer frames, and the stack memory they read,
 * stay as they were. A bash loop's stacks here are about 97 frames deep, of
 * which the last sample already walked all but a few (ARCHITECTURE.md, Cost).
 *
 * A frame of the new walk joins the old one when it is the same frame: the
 * same pc, sp and rbp, in the same process image with the same mappings, and the stack bytes from
 * that sp up to the highest byte the old walk read are the same in both
 * copies. From there the old walk read nothing else (reads below that sp
 * are recorded and refuse the join), so it would go on identically, and its
 * remaining return addresses and its ending are taken as they were.
 *
 * Walks are kept by reference to the stack copies they read, which live in
 * the drain's buffer: `forget()` must be called before that buffer is
 * reused.
 */
import type { Image } from "../process/image.js";

/** One walk of one thread, frame by frame as the walk met them. */
export class ThreadWalk {
	/** pc, sp and rbp (NaN: unknown) at each frame, as numbers. */
	readonly pcs: Float64Array;
	readonly sps: Float64Array;
	readonly bps: Float64Array;
	/** Lowest address read from each frame outwards (after `finish`). */
	readonly lowestRead: Float64Array;
	/** 1 where the frame was followed by its frame pointer. */
	readonly byFramePointer: Uint8Array;
	depth = 0;
	image?: Image;
	// The image's mappings list when walked: a new list (mmap, munmap) may move what an address means.
	mappings?: readonly unknown[];
	generation = -1;
	/** The copy read and the address of its first byte. */
	bytes?: Uint8Array;
	base = 0;
	/** One past the highest byte read. */
	end = 0;
	/** The walk's result: its return addresses and how it ended. */
	result: readonly bigint[] = [];
	ending?: string;
	// Where the next join looks first: a walk meets frames in ascending sp.
	private cursor = 1;

	constructor(maxDepth: number) {
		this.pcs = new Float64Array(maxDepth + 1);
		this.sps = new Float64Array(maxDepth + 1);
		this.bps = new Float64Array(maxDepth + 1);
		this.lowestRead = new Float64Array(maxDepth + 1);
		this.byFramePointer = new Uint8Array(maxDepth + 1);
	}

	/** Turns per-frame lowest reads into lowest reads from each frame outwards. */
	finish(depth: number): void {
		this.depth = depth;
		let low = Number.POSITIVE_INFINITY;
		for (let i = depth - 1; i >= 0; i--) {
			if (this.lowestRead[i] < low) low = this.lowestRead[i];
			this.lowestRead[i] = low;
		}
	}

	/** A new walk starts looking for where it joins this one. */
	rewind(): void {
		this.cursor = 1;
	}

	/**
	 * The index of this walk's frame that the frame (pc, sp, bp) of a new walk
	 * over `bytes` (starting at address `base`) joins, or -1.
	 */
	join(pc: number, sp: number, bp: number, bytes: Uint8Array, base: number): number {
		let i = this.cursor;
		while (i < this.depth && this.sps[i] < sp) i++;
		this.cursor = i;
		if (i >= this.depth || this.sps[i] !== sp || this.pcs[i] !== pc) return -1;
		const oldBp = this.bps[i];
		if (oldBp !== bp && !(Number.isNaN(oldBp) && Number.isNaN(bp))) return -1;
		if (this.lowestRead[i] < sp) return -1;
		const old = this.bytes as Uint8Array;
		if (this.end - base > bytes.length || sp - this.base < 0) return -1;
		const a = bytes.subarray(sp - base, this.end - base);
		const b = old.subarray(sp - this.base, this.end - this.base);
		return Buffer.compare(a, b) === 0 ? i : -1;
	}
}

/** The last walk of each thread, two per thread: the one to join and the one being recorded. */
export class ThreadWalks {
	private readonly last = new Map<number, ThreadWalk>();
	private readonly spare = new Map<number, ThreadWalk>();
	private generation = 0;

	constructor(
		private readonly maxDepth: number,
		private readonly maxThreads = 256,
	) {}

	/** The stack copies walked so far are about to be overwritten. */
	forget(): void {
		this.generation++;
	}

	/** Thread `tid`'s last walk in `image`, if its copy is still there. */
	joinable(tid: number, image: Image): ThreadWalk | undefined {
		const w = this.last.get(tid);
		return w !== undefined && w.generation === this.generation && w.image === image && w.mappings === image.mappings ? w : undefined;
	}

	/** A record to fill for thread `tid`'s walk under way. */
	recording(tid: number): ThreadWalk {
		let w = this.spare.get(tid);
		if (w === undefined) {
			if (this.spare.size >= this.maxThreads) {
				this.spare.clear();
				this.last.clear();
			}
			w = new ThreadWalk(this.maxDepth);
			this.spare.set(tid, w);
		}
		return w;
	}

	/** Keeps `w`, filled by the walk just ended over `bytes`, as thread `tid`'s last walk. */
	keep(tid: number, w: ThreadWalk, image: Image, bytes: Uint8Array, base: number): void {
		w.image = image;
		w.mappings = image.mappings;
		w.bytes = bytes;
		w.base = base;
		w.generation = this.generation;
		const previous = this.last.get(tid);
		this.last.set(tid, w);
		if (previous !== undefined) this.spare.set(tid, previous);
		else this.spare.delete(tid);
	}
}
