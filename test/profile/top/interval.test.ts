import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { intervalsToData } from "../../helpers/top-data.js";
import type { LiveBatch } from "../../../source/profile/live.js";
import { callGraph } from "../../../source/profile/top/call-graph.js";
import { NO_FILTER } from "../../../source/profile/top/filter.js";
import { functionTable } from "../../../source/profile/top/function-table.js";
import { IntervalAccumulator } from "../../../source/profile/top/interval.js";
import { snapshot } from "../../../source/profile/top/snapshot.js";
import { DEFAULT_CONFIG, samplesPerSecond, type TopConfig, type TopData, zero } from "../../../source/profile/top/window.js";
import { batch, sample, systemBatch, user } from "../../ui/fake-source.js";

const CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

/** Feeds each list of batches as one 1 s interval, starting at t = 0. */
const run = (intervals: readonly (readonly LiveBatch[])[], config: TopConfig = CONFIG, from?: TopData): TopData =>
	intervalsToData(intervals, config, from);

describe("IntervalAccumulator", () => {
	test("the accumulator's reset drops what was not yet taken", () => {
		const acc = new IntervalAccumulator(0);
		acc.add(systemBatch());
		assert.equal(acc.total, 100);
		acc.reset(500);
		const closed = acc.take(1000);
		assert.deepEqual(
			[closed.startMs, closed.total, closed.stacks.length],
			[500, 0, 0],
		);
	});

	test("an interval ends at the drain instant of its newest samples, not when the view takes it", () => {
		const acc = new IntervalAccumulator(0);
		// 20 samples drained at 100 ms; the view draws them at 1,000 ms.
		acc.add(batch([sample(1, [user("a")], 20)], [], 100));
		const first = acc.take(1000);
		assert.deepEqual([first.startMs, first.endMs, first.total], [0, 100, 20]);
		// Nothing drained since: an empty interval up to now ...
		const empty = acc.take(1500);
		assert.deepEqual([empty.endMs, empty.total], [1500, 0]);
		// ... and the next samples cover the time from the last drain on.
		acc.add(batch([sample(1, [user("a")], 380)], [], 2000));
		const next = acc.take(2050);
		assert.deepEqual([next.startMs, next.endMs, next.total], [100, 2000, 380]);
		// A batch without a known instant (or one from another clock) falls back to the view's time.
		const fallback = new IntervalAccumulator(5000);
		fallback.add(batch([sample(1, [user("a")], 1)]));
		assert.deepEqual([fallback.take(6000).endMs], [6000]);
	});

	test("identical stacks of one process merge within an interval, threads included", () => {
		const acc = new IntervalAccumulator(0);
		acc.add(
			batch([sample(1, [user("a")], 2), sample(1, [user("a")], 3, { tid: 7 })]),
		);
		acc.add(batch([sample(1, [user("a")], 4)]));
		const closed = acc.take(1000);
		assert.deepEqual(
			closed.stacks.map((s) => s.value),
			[9],
		);
	});
});
