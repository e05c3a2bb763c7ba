/**
 * perf top's call-graph expansion of one function: its callers and callees
 * over the window, once per sample (ARCHITECTURE.md, Counting).
 */
import { countOnce, displayName, type FunctionKey, type Tally } from "../count.js";
import type { Frame } from "../model.js";
import { type CountFilter, forEachStack } from "./filter.js";
import { type FunctionRow, percent } from "./function-table.js";
import type { TopData } from "./window.js";

/** A neighbour of a function in the call graph. */
export interface CallEdge {
	readonly key: FunctionKey;
	readonly name: string;
	readonly module: string;
	readonly kernel: boolean;
	/** Samples in which the edge occurs, once per sample. */
	readonly samples: number;
	/** Share of the function's total. */
	readonly percent: number;
}

/** Callers and callees of one function within the window and filters. */
export interface CallGraph extends Pick<FunctionRow, "key" | "name" | "module" | "kernel" | "self" | "total"> {
	/** Frames right outside the function, by samples descending. */
	readonly callers: readonly CallEdge[];
	/** Frames right inside the function, by samples descending. */
	readonly callees: readonly CallEdge[];
}

interface EdgeTally extends Tally {
	readonly frame: Frame;
}

/** perf top's call-graph expansion of one function; undefined when it has no samples. */
export function callGraph(
	data: TopData,
	filter: CountFilter,
	key: FunctionKey,
): CallGraph | undefined {
	let found: Frame | undefined;
	// The function itself and its edges are tallies of the one rule (countOnce).
	const focus: Tally = { self: 0, total: 0, mark: 0 };
	const callers = new Map<FunctionKey, EdgeTally>();
	const callees = new Map<FunctionKey, EdgeTally>();
	const edgeTally = (
		into: Map<FunctionKey, EdgeTally>,
		frame: Frame,
		edgeKey: FunctionKey,
	): EdgeTally => {
		let tally = into.get(edgeKey);
		if (!tally) {
			tally = { frame, self: 0, total: 0, mark: 0 };
			into.set(edgeKey, tally);
		}
		return tally;
	};
	const noSelf: Tally = { self: 0, total: 0, mark: 0 };
	const focusPath: Tally[] = [];
	const edgePath: Tally[] = [];
	let serial = 0;
	forEachStack(data, filter, (frames, keys, value) => {
		focusPath.length = 0;
		edgePath.length = 0;
		for (let i = 0; i < keys.length; i++) {
			if (keys[i] !== key) continue;
			found ??= frames[i];
			// Self only where the function is the innermost frame.
			if (focusPath.length === 0 && i > 0) focusPath.push(noSelf);
			focusPath.push(focus);
			const outer = frames[i + 1];
			if (outer)
				edgePath.push(edgeTally(callers, outer, keys[i + 1] as FunctionKey));
			const inner = frames[i - 1];
			if (inner)
				edgePath.push(edgeTally(callees, inner, keys[i - 1] as FunctionKey));
		}
		if (focusPath.length === 0) return;
		serial++;
		countOnce(focusPath, value, serial);
		// An edge's figure is its total: the samples it occurs in, once each.
		edgePath.unshift(noSelf);
		countOnce(edgePath, value, serial);
	});
	const { self, total } = focus;
	if (!found) return undefined;
	const edges = (tallies: Map<FunctionKey, EdgeTally>): CallEdge[] =>
		[...tallies]
			.map(([edgeKey, t]) => ({
				key: edgeKey,
				name: displayName(t.frame.name),
				module: t.frame.module,
				kernel: t.frame.kernel,
				samples: t.total,
				percent: percent(t.total, total),
			}))
			.sort((a, b) => b.samples - a.samples || a.name.localeCompare(b.name));
	return {
		key,
		name: displayName(found.name),
		module: found.module,
		kernel: found.kernel,
		self,
		total,
		callers: edges(callers),
		callees: edges(callees),
	};
}
