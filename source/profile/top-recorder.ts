/**
 * What top's `r` (and `--record`) keeps: every sample from the start of the
 * recording, merged by identical stack so a long recording grows with the
 * number of distinct stacks rather than with the number of drains.
 */
import type { LiveBatch } from "./live.js";
import type { Profile, Sample } from "./model.js";

/** `tsprof-YYYYmmdd-HHMMSS.pb.gz` in local time. */
export function defaultRecordingName(date: Date): string {
	const two = (n: number) => String(n).padStart(2, "0");
	const day = `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}`;
	const time = `${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
	return `tsprof-${day}-${time}.pb.gz`;
}

function sampleKey(sample: Sample): string {
	let key = `${sample.pid}:${sample.tid}:${sample.startNs}:${sample.comm}:${sample.exe}`;
	// Addresses matter here (pprof keeps locations), so the name alone would merge too much.
	for (const frame of sample.frames) {
		key += `\u0001${frame.kernel ? "k" : "u"}${frame.module}\0${frame.name}\0${frame.address ?? ""}`;
	}
	return key;
}

/** An ongoing recording. Mutable: it takes every batch. */
export class Recorder {
	readonly file: string;
	readonly startTimeMs: number;
	readonly #frequencyHz: number;
	readonly #lostAtStart: number;
	#samples = new Map<string, Sample>();
	#count = 0;

	/** `lostAtStart` is the sampler's lost count when recording starts, so the file counts only its own. */
	constructor(
		file: string,
		startTimeMs: number,
		frequencyHz: number,
		lostAtStart: number,
	) {
		this.file = file;
		this.startTimeMs = startTimeMs;
		this.#frequencyHz = frequencyHz;
		this.#lostAtStart = lostAtStart;
	}

	/** Sum of sample values recorded so far. */
	get samples(): number {
		return this.#count;
	}

	add(batch: LiveBatch): void {
		for (const sample of batch.samples) {
			const key = sampleKey(sample);
			const known = this.#samples.get(key);
			this.#samples.set(
				key,
				known ? { ...known, value: known.value + sample.value } : sample,
			);
			this.#count += sample.value;
		}
	}

	/** The profile as of `endTimeMs`, when the sampler had lost `lostNow` samples in all. */
	profile(endTimeMs: number, lostNow: number): Profile {
		return {
			samples: [...this.#samples.values()],
			unit: "samples",
			frequencyHz: this.#frequencyHz,
			startTimeMs: this.startTimeMs,
			durationMs: Math.max(0, endTimeMs - this.startTimeMs),
			lostSamples: Math.max(0, lostNow - this.#lostAtStart),
		};
	}
}
