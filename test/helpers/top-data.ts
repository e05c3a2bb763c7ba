/**
 * Builds top's data from fixed batches, for tests of the model and the view:
 * each list of batches becomes one 1 s refresh interval.
 */
import type { LiveBatch } from "../../source/profile/live.js";
import { IntervalAccumulator } from "../../source/profile/top/interval.js";
import { advance, DEFAULT_CONFIG, emptyTopData, type TopConfig, type TopData } from "../../source/profile/top/window.js";

/** The configuration the tests use: a round 100 Hz. */
export const TEST_CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

export function intervalsToData(intervals: readonly (readonly LiveBatch[])[], config: TopConfig = TEST_CONFIG, from?: TopData): TopData {
	let data = from ?? emptyTopData(config);
	let t = data.window.at(-1)?.endMs ?? 0;
	const acc = new IntervalAccumulator(t);
	for (const batches of intervals) {
		for (const b of batches) acc.add(b);
		t += 1000;
		data = advance(data, acc.take(t));
	}
	return data;
}
