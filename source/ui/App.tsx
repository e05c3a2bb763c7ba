import { Box, Text } from "ink";
import { useMemo, useRef, useState } from "react";
import type { SamplerStats } from "../profile/live.js";
import type { HeaderInfo } from "./top-format.js";
import { callGraph } from "../profile/top/call-graph.js";
import { functionCounts, searchFunctions, sortFunctions } from "../profile/top/function-table.js";
import { processRows } from "../profile/top/process-rows.js";
import { samplesPerSecond, type TopData, windowMs } from "../profile/top/window.js";
import { CallGraph } from "./CallGraph.js";
import { Footer } from "./Footer.js";
import { FunctionList } from "./FunctionList.js";
import { Header } from "./Header.js";
import { Help } from "./Help.js";
import { helpText } from "./help-text.js";
import { clampCursor, initialUiState, type KeyContext } from "./keymap.js";
import { computeLayout, MIN_COLUMNS, MIN_ROWS } from "./layout.js";
import { PidPrompt } from "./PidPrompt.js";
import { ProcessList } from "./ProcessList.js";
import { Prompt } from "./Prompt.js";
import { useTopKeys } from "./use-top-keys.js";
import { useWindowSize, type WindowSize } from "./use-window-size.js";

/** Props of {@link App}: one refresh's worth of data plus what the command does on request. */
export interface AppProps {
	/** The model as of the last refresh; the view keeps its own copy while paused. */
	readonly data: TopData;
	readonly stats: SamplerStats;
	/** tsprof's own CPU % (of one CPU) over the last refresh. */
	readonly selfCpuPercent: number;
	/** tsprof's own resident set size, bytes. */
	readonly selfRssBytes: number;
	/** The recording in progress, if any. */
	readonly recording?: { readonly file: string; readonly samples: number };
	/** A notice from the command (recording written or failed); a key's own message wins. */
	readonly notice?: string;
	/** Pid filter to start with (`--pid` over a recording). */
	readonly initialPids?: readonly number[];
	/** The pids the source follows with their descendants (`--pid` live), for the header. */
	readonly following?: readonly number[];
	/** Whether a pid exists now (for the pid prompt). */
	readonly pidExists: (pid: number) => boolean;
	readonly onQuit: () => void;
	readonly onZero: () => void;
	readonly onToggleRecording: () => void;
	/** `o`: switch between on-CPU samples and off-CPU time. */
	readonly onToggleOffCpu?: () => void;
	/** `data` holds off-CPU time (nanoseconds), not samples. */
	readonly offCpu?: boolean;
	/** Read keys; false when stdin is not a terminal (Ink cannot put it in raw mode). */
	readonly keys?: boolean;
	/** A fixed terminal size; by default the size of Ink's stdout, following resizes. */
	readonly size?: WindowSize;
}

/**
 * The whole `tsprof top` screen. It renders from `data` and does no I/O of
 * its own: keys become state (see keymap.ts) or effects the command carries
 * out through the `on*` callbacks.
 */
export function App(props: AppProps) {
	const terminal = useWindowSize();
	const size = props.size ?? terminal;
	const layout = computeLayout(size.columns, size.rows);
	const width = size.columns;

	// Filled in below, once the rows the keys act on are known; keys come later.
	const context = useRef<KeyContext | undefined>(undefined);
	const ui = useTopKeys(
		() => initialUiState(props.initialPids),
		() => context.current,
		{
			quit: props.onQuit,
			zero: props.onZero,
			toggleRecording: props.onToggleRecording,
			toggleOffCpu: props.onToggleOffCpu ?? (() => {}),
		},
		props.keys ?? true,
	);

	// Pause freezes what is shown, not the sampling: keep the data of the moment
	// space was pressed, unless the counts were zeroed meanwhile.
	const [frozen, setFrozen] = useState<TopData | undefined>(undefined);
	if (
		ui.paused &&
		(frozen === undefined || frozen.generation !== props.data.generation)
	)
		setFrozen(props.data);
	if (!ui.paused && frozen !== undefined) setFrozen(undefined);
	const data = ui.paused ? (frozen ?? props.data) : props.data;

	const { pids, hideKernel, search } = ui.filter;
	const { sort } = ui;
	const countFilter = useMemo(() => ({ pids, hideKernel }), [pids, hideKernel]);
	const processes = useMemo(() => processRows(data, pids), [data, pids]);
	const table = useMemo(
		() => functionCounts(data, countFilter),
		[data, countFilter],
	);
	const matching = useMemo(
		() => searchFunctions(table.rows, search),
		[table, search],
	);
	// Only rows the cursor can reach from here (a page past it) need their
	// order; moving further orders more, End orders all.
	const reach =
		Math.max(ui.functionCursor.index, ui.functionCursor.offset) +
		2 * layout.functionRows +
		1;
	const functions = useMemo(
		() => sortFunctions(matching, sort, reach),
		[matching, sort, reach],
	);
	// Counted only while the panel is on screen (or under the help over it).
	const graphOpen =
		ui.mode === "callGraph" || (ui.mode === "help" && ui.back === "callGraph");
	const graphKey = graphOpen ? ui.callGraphKey : undefined;
	const graph = useMemo(
		() =>
			graphKey === undefined
				? undefined
				: callGraph(data, countFilter, graphKey),
		[data, countFilter, graphKey],
	);
	const helpLines = useMemo(() => helpText(width).length, [width]);
	context.current = {
		processes,
		functions,
		graph,
		pageRows: {
			processes: layout.processRows,
			functions: layout.functionRows,
			graph: Math.max(1, Math.min(layout.callerRows, layout.calleeRows)),
		},
		pidExists: props.pidExists,
		help: { lines: helpLines, rows: layout.body },
	};

	if (layout.tooSmall) {
		return (
			<Text wrap="truncate">
				tsprof top needs at least {MIN_COLUMNS}×{MIN_ROWS} (this terminal is{" "}
				{size.columns}×{size.rows}); q quits
			</Text>
		);
	}

	const header: HeaderInfo = {
		stats: props.stats,
		samplesPerSecond: samplesPerSecond(props.data),
		selfCpuPercent: props.selfCpuPercent,
		selfRssBytes: props.selfRssBytes,
		filter: ui.filter,
		following: props.following,
		windowS: windowMs(data) / 1000,
		paused: ui.paused,
		recording: props.recording,
		offCpu: props.offCpu,
	};
	const graphName =
		table.rows.find((row) => row.key === ui.callGraphKey)?.name ??
		"this function";

	return (
		<Box flexDirection="column" width={width}>
			<Header info={header} lines={layout.header} />
			{ui.mode === "help" ? (
				<Help height={layout.body} width={width} offset={ui.helpOffset} />
			) : ui.mode === "callGraph" ? (
				<CallGraph
					graph={graph}
					name={graphName}
					callerRows={layout.callerRows}
					calleeRows={layout.calleeRows}
					width={width}
					cursor={ui.graphCursor}
				/>
			) : (
				<>
					<ProcessList
						offCpu={props.offCpu}
						rows={processes}
						height={layout.processRows}
						width={width}
						cursor={clampCursor(
							ui.processCursor,
							processes.length,
							layout.processRows,
						)}
						focused={ui.focus === "processes"}
					/>
					<FunctionList
						rows={functions}
						height={layout.functionRows}
						width={width}
						cursor={clampCursor(
							ui.functionCursor,
							functions.length,
							layout.functionRows,
						)}
						focused={ui.focus === "functions"}
						search={search}
						sort={sort}
					/>
				</>
			)}
			{ui.mode === "pidPrompt" ? (
				<PidPrompt value={ui.input} message={ui.message} width={width} />
			) : ui.mode === "search" ? (
				<Prompt label="search functions:" value={search} width={width} />
			) : (
				<Footer
					mode={ui.mode}
					width={width}
					message={ui.message ?? props.notice}
					sort={sort}
				/>
			)}
		</Box>
	);
}
