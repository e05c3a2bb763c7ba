/**
 * Accumulates live samples into a Profile, merging identical stacks of the
 * same thread so that a long recording grows with distinct stacks, not time.
 */
import type { Frame, Profile, Sample, Unit } from "./model.js";

/** What a finished profile says about how it was taken. */
export interface ProfileMeta {
	readonly unit: Unit;
	readonly frequencyHz: number;
	readonly startTimeMs: number;
	readonly durationMs: number;
	readonly lostSamples: number;
}

export class ProfileAccumulator {
	private readonly frameIds = new Map<Frame, number>();
	private readonly merged = new Map<
		string,
		{ sample: Sample; value: number }
	>();
	private total = 0;

	/** Adds samples; a stack seen before for the same thread adds to its value. */
	add(samples: readonly Sample[]): void {
		for (const s of samples) {
			let k = `${s.pid}:${s.tid}:${s.startNs}:${s.comm}:${s.waitReason ?? ""}`;
			// Frames are shared objects from the symbolizer's caches, so their
			// identity is a cheap stand-in for their content.
			for (const f of s.frames) {
				let id = this.frameIds.get(f);
				if (id === undefined) {
					id = this.frameIds.size;
					this.frameIds.set(f, id);
				}
				k += `,${id}`;
			}
			const m = this.merged.get(k);
			if (m) m.value += s.value;
			else this.merged.set(k, { sample: s, value: s.value });
			this.total += s.value;
		}
	}

	/** Sum of the values added so far. */
	get value(): number {
		return this.total;
	}

	/** Distinct processes among the samples. */
	processCount(): number {
		const seen = new Set<string>();
		for (const { sample } of this.merged.values())
			seen.add(`${sample.pid}:${sample.startNs}`);
		return seen.size;
	}

	toProfile(meta: ProfileMeta): Profile {
		const samples: Sample[] = [];
		for (const { sample, value } of this.merged.values())
			samples.push({ ...sample, value });
		return { ...meta, samples };
	}

	clear(): void {
		this.merged.clear();
		this.frameIds.clear();
		this.total = 0;
	}
}
