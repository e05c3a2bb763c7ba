/**
 * The one recorder behind `record`, `top --record`/`r` and `--push`: it
 * takes every batch and merges identical stacks of the same thread, so a
 * long recording grows with the number of distinct stacks, not with time.
 * It also knows what changed since it was last asked, which is what makes
 * checkpoints incremental.
 */
import { processKey } from "./process-key.js";
import type { Frame, Profile, Sample, Unit } from "./model.js";

/** `tsprof-YYYYmmdd-HHMMSS.pb.gz` in local time. */
export function defaultRecordingName(date: Date): string {
	const two = (n: number) => String(n).padStart(2, "0");
	const day = `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}`;
	const time = `${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
	return `tsprof-${day}-${time}.pb.gz`;
}

interface Entry {
	readonly sample: Sample;
	value: number;
	/** `value` when `takeChanges` last saw this entry. */
	taken: number;
	dirty: boolean;
}

/** An ongoing recording. Mutable: it takes every batch. */
export class Recorder {
	/** Where the recording goes; the recorder itself does no I/O. */
	readonly file: string;
	readonly startTimeMs: number;
	readonly frequencyHz: number;
	readonly unit: Unit;
	readonly #lostAtStart: number;
	readonly #frameIds = new Map<Frame, number>();
	readonly #frameIdsByContent = new Map<string, number>();
	readonly #entries = new Map<string, Entry>();
	/** The frame ids of a frames array, as they end a key; the session hands the same array out for a stack it named before. */
	readonly #stackKeys = new WeakMap<readonly Frame[], string>();
	#dirty: Entry[] = [];
	#count = 0;

	/** `lostAtStart` is the sampler's lost count when recording starts, so the file counts only its own. */
	constructor(
		file: string,
		startTimeMs: number,
		frequencyHz: number,
		lostAtStart: number,
		unit: Unit = "samples",
	) {
		this.file = file;
		this.startTimeMs = startTimeMs;
		this.frequencyHz = frequencyHz;
		this.#lostAtStart = lostAtStart;
		this.unit = unit;
	}

	/**
	 * Frames are mostly shared objects from the symbolizer's caches, so
	 * identity finds them; the content (address included, as pprof keeps
	 * locations) decides only for a frame object not seen before.
	 */
	#frameId(f: Frame): number {
		let id = this.#frameIds.get(f);
		if (id !== undefined) return id;
		const content = `${f.kernel ? "k" : "u"}${f.module}\0${f.name}\0${f.address ?? ""}\0${f.buildId ?? ""}`;
		id = this.#frameIdsByContent.get(content);
		if (id === undefined) {
			id = this.#frameIdsByContent.size;
			this.#frameIdsByContent.set(content, id);
		}
		this.#frameIds.set(f, id);
		return id;
	}

	#stackKey(frames: readonly Frame[]): string {
		let key = this.#stackKeys.get(frames);
		if (key === undefined) {
			const ids = new Array<number>(frames.length);
			for (let i = 0; i < frames.length; i++) ids[i] = this.#frameId(frames[i]);
			// One flat string: a key grown by += is a chain of a string per
			// frame, and this one is kept as long as its stack is.
			key = `,${ids.join(",")}`;
			this.#stackKeys.set(frames, key);
		}
		return key;
	}

	/** Sum of sample values recorded so far. */
	get samples(): number {
		return this.#count;
	}

	/** Adds a batch; a stack seen before for the same thread adds to its value. */
	add(batch: { readonly samples: readonly Sample[] }): void {
		for (const s of batch.samples) {
			const key = `${s.pid}:${s.tid}:${s.startNs}:${s.comm}:${s.exe}:${s.waitReason ?? ""}${this.#stackKey(s.frames)}`;
			let e = this.#entries.get(key);
			if (e === undefined) {
				e = { sample: s, value: 0, taken: 0, dirty: false };
				this.#entries.set(key, e);
			}
			e.value += s.value;
			if (!e.dirty) {
				e.dirty = true;
				this.#dirty.push(e);
			}
			this.#count += s.value;
		}
	}

	/**
	 * The samples added since the last call, each with the value it gained:
	 * what a checkpoint appends.
	 */
	takeChanges(): Sample[] {
		const out: Sample[] = [];
		for (const e of this.#dirty) {
			const gained = e.value - e.taken;
			if (gained !== 0) out.push({ ...e.sample, value: gained });
			e.taken = e.value;
			e.dirty = false;
		}
		this.#dirty = [];
		return out;
	}

	/** Distinct processes among the samples. */
	processCount(): number {
		const seen = new Set<string>();
		for (const { sample } of this.#entries.values())
			seen.add(processKey(sample.pid, sample.startNs));
		return seen.size;
	}

	/** How the recording was taken, as of `endTimeMs` with `lostNow` lost in all. */
	meta(endTimeMs: number, lostNow: number): Omit<Profile, "samples"> {
		return {
			unit: this.unit,
			frequencyHz: this.frequencyHz,
			startTimeMs: this.startTimeMs,
			durationMs: Math.max(0, endTimeMs - this.startTimeMs),
			lostSamples: Math.max(0, lostNow - this.#lostAtStart),
		};
	}

	/** The whole profile as of `endTimeMs`, when the sampler had lost `lostNow` samples in all. */
	profile(endTimeMs: number, lostNow: number): Profile {
		const samples: Sample[] = [];
		for (const { sample, value } of this.#entries.values())
			samples.push(value === sample.value ? sample : { ...sample, value });
		return { ...this.meta(endTimeMs, lostNow), samples };
	}
}
