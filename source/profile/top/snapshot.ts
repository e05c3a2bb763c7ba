/**
 * Everything one screen (or one batch-mode print) shows, in one call.
 */
import { type CallGraph, callGraph } from "./call-graph.js";
import type { FunctionKey } from "../count.js";
import type { ViewFilter } from "./filter.js";
import {
	DEFAULT_SORT,
	type FunctionRow,
	type FunctionSort,
	functionTable,
	searchFunctions,
} from "./function-table.js";
import { type ProcessRow, processRows } from "./process-rows.js";
import { lastIntervalMs, samplesPerSecond, type TopData } from "./window.js";

/** Everything one screen (or one batch-mode print) shows, derived from TopData. */
export interface TopSnapshot {
	readonly refresh: number;
	/** Length of the last interval, ms. */
	readonly intervalMs: number;
	/** Samples per second over the last interval, before filters. */
	readonly samplesPerSecond: number;
	/** Samples in the window that passed the pid filter. */
	readonly windowSamples: number;
	readonly processes: readonly ProcessRow[];
	/** After the search filter, sorted by `sort`. */
	readonly functions: readonly FunctionRow[];
	readonly sort: FunctionSort;
	readonly callGraph?: CallGraph;
}

/** All of the view in one call (batch mode and tests; the UI memoises the parts). */
export function snapshot(
	data: TopData,
	filter: ViewFilter,
	callGraphKey?: FunctionKey,
	sort: FunctionSort = DEFAULT_SORT,
): TopSnapshot {
	const table = functionTable(data, filter, sort);
	return {
		refresh: data.refresh,
		intervalMs: lastIntervalMs(data),
		samplesPerSecond: samplesPerSecond(data),
		windowSamples: table.samples,
		processes: processRows(data, filter.pids),
		functions: searchFunctions(table.rows, filter.search),
		sort,
		callGraph:
			callGraphKey === undefined
				? undefined
				: callGraph(data, filter, callGraphKey),
	};
}
