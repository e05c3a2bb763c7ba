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

describe("zero and snapshots", () => {
	test("zero forgets every count and bumps the generation", () => {
		const data = zero(run([[systemBatch()]]));
		assert.equal(data.generation, 1);
		const view = snapshot(data, NO_FILTER);
		assert.deepEqual(
			[view.processes, view.functions, view.windowSamples],
			[[], [], 0],
		);
	});
	test("a snapshot carries rates, rows and the call graph", () => {
		const data = run([[systemBatch()]]);
		const key = functionTable(data, NO_FILTER).rows.find(
			(r) => r.name === "hot_alpha",
		)?.key;
		const view = snapshot(data, { ...NO_FILTER, search: "alpha" }, key);
		assert.equal(view.sort, "total");
		assert.deepEqual(
			snapshot(data, NO_FILTER, undefined, "self").functions[0]?.name,
			"hot_alpha",
		);
		assert.deepEqual(
			[
				view.refresh,
				view.intervalMs,
				view.samplesPerSecond,
				view.windowSamples,
			],
			[1, 1000, 100, 100],
		);
		assert.deepEqual(
			view.functions.map((r) => r.name),
			["hot_alpha"],
		);
		assert.equal(view.callGraph?.name, "hot_alpha");
	});
});
