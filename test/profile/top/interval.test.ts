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
