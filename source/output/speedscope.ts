/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * one sampled profile per process, frames shared between them, identical
 * stacks of a process merged into one weighted sample. CPU recordings are
 * weighted in nanoseconds of CPU (samples × the sampling period) so that
 * speedscope shows time; without a known frequency, in plain samples.
 */
import { processKey } from "../profile/process-key.js";
import type { Profile, Sample } from "../profile/model.js";
import { periodNs } from "./pprof-encoder.js";

const SCHEMA = "https://www.speedscope.app/file-format-schema.json";

interface SpeedscopeFrame {
	name: string;
	file?: string;
}

interface SampledProfile {
	type: "sampled";
	name: string;
	unit: "nanoseconds" | "none";
	startValue: number;
	endValue: number;
	samples: number[][];
	weights: number[];
}

/** The speedscope document of `samples` (already filtered) from `profile`. */
export function toSpeedscope(profile: Profile, samples: readonly Sample[], name: string): object {
	const frames: SpeedscopeFrame[] = [];
	const frameIds = new Map<string, number>();
	const frameId = (name: string, file: string): number => {
		const key = `${file}\0${name}`;
		let id = frameIds.get(key);
		if (id === undefined) {
			id = frames.length;
			frameIds.set(key, id);
			frames.push(file ? { name, file } : { name });
		}
		return id;
	};
	const period = profile.unit === "samples" ? periodNs(profile.frequencyHz) : 1;
	const unit = profile.unit === "nanoseconds" || period > 0 ? "nanoseconds" : "none";
	const scale = period > 0 ? period : 1;

	const byProcess = new Map<string, { title: string; stacks: Map<string, { ids: number[]; weight: number }>; total: number }>();
	for (const s of samples) {
		const pkey = processKey(s.pid, s.startNs);
		let proc = byProcess.get(pkey);
		if (proc === undefined) {
			proc = { title: `${s.comm || "[unknown]"} (pid ${s.pid})`, stacks: new Map(), total: 0 };
			byProcess.set(pkey, proc);
		}
		// speedscope wants the outermost frame first.
		const ids: number[] = [];
		for (let i = s.frames.length - 1; i >= 0; i--) {
			const f = s.frames[i] as Sample["frames"][number];
			ids.push(frameId(f.name, f.module));
		}
		const weight = s.value * scale;
		const key = ids.join(",");
		const known = proc.stacks.get(key);
		if (known) known.weight += weight;
		else proc.stacks.set(key, { ids, weight });
		proc.total += weight;
	}

	const profiles: SampledProfile[] = [...byProcess.values()]
		.sort((a, b) => b.total - a.total)
		.map((p) => {
			const stacks = [...p.stacks.values()];
			return {
				type: "sampled",
				name: p.title,
				unit,
				startValue: 0,
				endValue: p.total,
				samples: stacks.map((s) => s.ids),
				weights: stacks.map((s) => s.weight),
			};
		});
	return {
		$schema: SCHEMA,
		shared: { frames },
		profiles,
		name,
		activeProfileIndex: 0,
		exporter: "tsprof",
	};
}
