import { Text } from "ink";
import {
	edgeCells,
	edgeHeader,
	fit,
	formatCount,
	frameMarker,
	moduleLabel,
} from "./top-format.js";
import { type CallEdge, type CallGraph as Graph } from "../profile/top/call-graph.js";
import { Rows } from "./Rows.js";

/** Props of {@link CallGraph}. */
export interface CallGraphProps {
	/** Undefined when the function has no samples in the window under the filters. */
	readonly graph?: Graph;
	/** Name to show when `graph` is undefined. */
	readonly name: string;
	readonly callerRows: number;
	readonly calleeRows: number;
	readonly width: number;
	/** Index into callers followed by callees. */
	readonly cursor: number;
}

function Section({
	title,
	edges,
	height,
	width,
	selected,
}: {
	readonly title: string;
	readonly edges: readonly CallEdge[];
	readonly height: number;
	readonly width: number;
	/** Index of the selected edge in `edges`, or -1. */
	readonly selected: number;
}) {
	// Scrolls just enough to keep the selection in view.
	const offset = Math.max(0, selected - height + 1);
	const visible = edges.slice(offset, offset + height);
	return (
		<>
			<Text wrap="truncate" bold inverse>
				{edgeHeader(title, width)}
			</Text>
			<Rows
				width={width}
				height={height}
				empty="(none)"
				rows={visible.map((edge, i) => ({
					cells: edgeCells(edge, width),
					style: { inverse: offset + i === selected },
				}))}
			/>
		</>
	);
}

/**
 * perf top's call-graph expansion: who calls the function (frames right
 * outside it) and what it calls (frames right inside it), with the samples
 * each edge appears in, in the current window and filters.
 */
export function CallGraph({
	graph,
	name,
	callerRows,
	calleeRows,
	width,
	cursor,
}: CallGraphProps) {
	if (!graph) {
		return (
			<Text wrap="truncate" dimColor>
				{fit(
					`${name}: no samples in the window under the current filters`,
					width,
				)}
			</Text>
		);
	}
	const title = `${frameMarker(graph.kernel)} ${graph.name}  (${moduleLabel(graph.module)})  self ${formatCount(graph.self)}  total ${formatCount(graph.total)} samples`;
	const callers = graph.callers.length;
	return (
		<>
			<Text wrap="truncate" bold color="cyan">
				{fit(title, width)}
			</Text>
			<Section
				title="CALLERS"
				edges={graph.callers}
				height={callerRows}
				width={width}
				selected={cursor < callers ? cursor : -1}
			/>
			<Section
				title="CALLEES"
				edges={graph.callees}
				height={calleeRows}
				width={width}
				selected={cursor >= callers ? cursor - callers : -1}
			/>
		</>
	);
}
