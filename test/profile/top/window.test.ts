import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { intervalsToData } from "../../helpers/top-data.js";
import type { LiveBatch } from "../../../source/profile/live.js";
import { callGraph } from "../../../source/profile/top/call-graph.js";
import { NO_FILTER } from "../../../source/profile/top/filter.js";
import { type FunctionSort, functionCounts, functionTable, searchFunctions, sortFunctions } from "../../../source/profile/top/function-table.js";
import { processRows } from "../../../source/profile/top/process-rows.js";
import { stackFrameCount } from "../../../source/profile/top/unknown-frames.js";
import { DEFAULT_CONFIG, emptyTopData, type TopConfig, type TopData } from "../../../source/profile/top/window.js";
import { batch, kernel, sample, systemBatch, user } from "../../ui/fake-source.js";

const CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

/** Feeds each list of batches as one 1 s interval, starting at t = 0. */
const run = (intervals: readonly (readonly LiveBatch[])[], config: TopConfig = CONFIG, from?: TopData): TopData =>
	intervalsToData(intervals, config, from);

describe("window", () => {
	test("the window's running totals equal counting every stack, as intervals come and leave", () => {
		const config = { ...CONFIG, windowIntervals: 3 };
		const intervals: LiveBatch[][] = [
			[systemBatch()],
			[batch([sample(1, [user("main"), user("fib"), user("fib")], 4)])],
			[],
			[systemBatch(), batch([sample(100, [kernel("irq")], 2), sample(100, [], 1)])],
			[batch([sample(7, [user("only_once")], 1, { startNs: 7n })])],
			[batch([sample(1, [user("main"), user("fib")], 3)])],
			[],
			[],
			[],
		];
		let data = emptyTopData(config);
		for (const interval of intervals) {
			data = run([interval], config, data);
			const pids = [1, 7, 100, 200];
			for (const hideKernel of [false, true]) {
				assert.deepEqual(
					functionTable(data, { pids: [], hideKernel }),
					functionTable(data, { pids, hideKernel }),
					`refresh ${data.refresh}, hideKernel ${hideKernel}`,
				);
			}
			const windowSamples = new Map<string, number>();
			for (const i of data.window)
				for (const [id, v] of i.perProcess)
					windowSamples.set(id, (windowSamples.get(id) ?? 0) + v);
			assert.deepEqual(
				new Map(data.totals.perProcess),
				windowSamples,
				`refresh ${data.refresh}`,
			);
			const windowFrames = new Map<string, { frames: number; unknown: number }>();
			for (const i of data.window) {
				for (const stack of i.stacks) {
					const count = stackFrameCount(stack.frames);
					const sum = windowFrames.get(stack.process) ?? { frames: 0, unknown: 0 };
					windowFrames.set(stack.process, { frames: sum.frames + stack.value * count.frames, unknown: sum.unknown + stack.value * count.unknown });
				}
			}
			assert.deepEqual(new Map(data.totals.framesPerProcess), windowFrames, `frames, refresh ${data.refresh}`);
		}
		assert.deepEqual(
			[data.totals.functions.size, data.totals.perProcess.size, data.totals.framesPerProcess.size],
			[0, 0, 0],
			"an empty window leaves nothing behind",
		);
	});

	test("the totals of a refresh stay as they were when later refreshes come (a paused view keeps them)", () => {
		const first = run([[systemBatch()]]);
		const before = functionTable(first, NO_FILTER);
		run([[systemBatch()], [], [systemBatch()]], CONFIG, first);
		assert.deepEqual(functionTable(first, NO_FILTER), before);
	});
});
