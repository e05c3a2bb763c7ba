/**
 * Text of top's rows and header, shared by the Ink view and batch mode so the
 * two always agree. Every line is cut to a width here: a line that wraps in
 * the terminal pushes the frame past `rows - 1` and Ink starts to flicker.
 */
import type { SamplerStats } from "../profile/live.js";
import type { CallEdge } from "../profile/top/call-graph.js";
import type { ViewFilter } from "../profile/top/filter.js";
import {
	DEFAULT_SORT,
	type FunctionRow,
	type FunctionSort,
} from "../profile/top/function-table.js";
import type { ProcessRow } from "../profile/top/process-rows.js";
import type { TopSnapshot } from "../profile/top/snapshot.js";

/** C0 controls and DEL: a newline in a name would add a line, an escape would reach the terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it finds.
const CONTROL = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what it replaces.
const CONTROLS = /[\u0000-\u001f\u007f]/g;

/** Cuts `text` to `width` columns (with an ellipsis) and pads it to exactly `width`. */
export function fit(text: string, width: number): string {
	if (width <= 0) return "";
	// comm and JIT names are arbitrary bytes; test first, replacing allocates.
	const clean = CONTROL.test(text) ? text.replace(CONTROLS, "?") : text;
	if (clean.length > width)
		return width === 1 ? "…" : `${clean.slice(0, width - 1)}…`;
	return clean.padEnd(width);
}

/** Right-aligns `text` in `width` columns; numbers never get cut, they widen instead. */
export function right(text: string, width: number): string {
	return text.padStart(width);
}

export function formatPercent(value: number): string {
	return value >= 1000 ? value.toFixed(0) : value.toFixed(1);
}

export function formatCount(value: number): string {
	if (value >= 10_000_000) return `${(value / 1_000_000).toFixed(0)}M`;
	if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
	return String(Math.round(value));
}

/** Nanoseconds as the shortest readable duration: 850ns, 12.3ms, 4.56s. */
export function formatNanoseconds(ns: number): string {
	if (ns >= 1e9) return `${(ns / 1e9).toFixed(ns >= 1e11 ? 0 : 2)}s`;
	if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)}ms`;
	if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)}us`;
	return `${Math.round(ns)}ns`;
}

export function formatBytes(bytes: number): string {
	if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
	return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** perf top's short module name: the file name, or the whole `[kernel]`-style tag. */
export function moduleLabel(module: string): string {
	if (module === "") return "?";
	if (module.startsWith("[")) return module;
	const slash = module.lastIndexOf("/");
	return slash === -1 ? module : module.slice(slash + 1);
}

/** `[k]` for kernel frames, `[.]` for user frames, as perf top marks them. */
export function frameMarker(kernel: boolean): string {
	return kernel ? "[k]" : "[.]";
}

const PID_W = 7;
const COMM_W = 16;
const CPU_W = 6;
const SAMPLES_W = 8;
/** Room for "100.0": UNK% never exceeds 100, so the column costs 6 of 80 columns. */
const UNK_W = 5;

/**
 * The process list's columns. Off-CPU, the same columns hold blocked time:
 * the share of one thread's time spent blocked over the last interval (more
 * than 100 for several threads), and the nanoseconds over the window.
 * UNK% is the share of the row's frames that could not be named (over
 * blocked time off-CPU); `-` when the window holds none of its samples.
 */
export function processHeader(width: number, offCpu = false): string {
	const fixed = `${right("PID", PID_W)} ${fit("COMM", COMM_W)} ${right(offCpu ? "WAIT%" : "CPU%", CPU_W)} ${right(offCpu ? "BLOCKED" : "SAMPLES", SAMPLES_W)} ${right("UNK%", UNK_W)} `;
	return fit(`${fixed}EXE`, width);
}

/** The cells of a process row: one, the executable last. */
export function processCells(row: ProcessRow, width: number, offCpu = false): Cells {
	const pid = row.count > 1 ? "-" : String(row.pids[0] ?? "");
	const comm = row.count > 1 ? `${row.comm} ×${row.count}` : row.comm;
	const amount = offCpu ? formatNanoseconds(row.samples) : formatCount(row.samples);
	const unknown = row.unknownPercent === undefined ? "-" : formatPercent(row.unknownPercent);
	const fixed = `${right(pid, PID_W)} ${fit(comm, COMM_W)} ${right(formatPercent(row.cpuPercent), CPU_W)} ${right(amount, SAMPLES_W)} ${right(unknown, UNK_W)} `;
	return {
		left: fit(fixed + (row.exe || "-"), width).trimEnd(),
		at: width,
		last: "",
	};
}

/** The text of a process row; a grouped row reads `comm ×count` and has no single pid. */
export function processLine(row: ProcessRow, width: number, offCpu = false): string {
	return cellsLine(processCells(row, width, offCpu), width);
}

const PCT_W = 7;
/** The first percentage column has room for the focus mark and the sort mark side by side. */
const FIRST_PCT_W = PCT_W + 1;

function nameAndModuleWidths(width: number, fixed: number): [number, number] {
	const rest = Math.max(0, width - fixed);
	const module = Math.min(32, Math.max(8, Math.floor(rest * 0.3)));
	return [Math.max(0, rest - module - 1), module];
}

/** Marks the column the function table is sorted by. */
export const SORT_MARK = "▼";

/** Column title with the sort mark when the table is sorted by it. */
function sortTitle(title: string, sorted: boolean): string {
	return sorted ? `${SORT_MARK}${title}` : title;
}

/** The function table's column titles; `▼` marks the column it is sorted by. */
export function functionHeader(
	width: number,
	sort: FunctionSort = DEFAULT_SORT,
): string {
	const fixed = `${right(sortTitle("SELF%", sort === "self"), FIRST_PCT_W)} ${right(sortTitle("TOTAL%", sort === "total"), PCT_W)}     `;
	const [nameW, moduleW] = nameAndModuleWidths(width, fixed.length);
	return fit(
		`${fixed}${fit("FUNCTION", nameW)} ${fit("MODULE", moduleW)}`,
		width,
	);
}

/**
 * A line as two cells: `left` from the first column, `last` from column
 * `at` on, neither padded. The view draws them apart, so that the blanks
 * between a short name and its module are never written: Ink spends
 * microseconds on every character it is given, blanks included.
 */
export interface Cells {
	readonly left: string;
	readonly at: number;
	readonly last: string;
}

/** The line the cells make in `width` columns. */
export function cellsLine(cells: Cells, width: number): string {
	return fit(cells.left.padEnd(cells.at) + cells.last, width);
}

/** The cells of a function row: self %, total %, kernel marker and name; then the short module. */
export function functionCells(row: FunctionRow, width: number): Cells {
	const fixed = `${right(formatPercent(row.selfPercent), FIRST_PCT_W)} ${right(formatPercent(row.totalPercent), PCT_W)} ${frameMarker(row.kernel)} `;
	const [nameW, moduleW] = nameAndModuleWidths(width, fixed.length);
	return {
		left: `${fixed}${fit(row.name, nameW)}`.trimEnd(),
		at: fixed.length + nameW + 1,
		last: fit(moduleLabel(row.module), moduleW).trimEnd(),
	};
}

/** The text of a function row: self %, total %, kernel marker, name, short module. */
export function functionLine(row: FunctionRow, width: number): string {
	return cellsLine(functionCells(row, width), width);
}

export function edgeHeader(title: string, width: number): string {
	const fixed = `${right("SAMPLES", SAMPLES_W)} ${right("%", PCT_W)}     `;
	const [nameW, moduleW] = nameAndModuleWidths(width, fixed.length);
	return fit(`${fixed}${fit(title, nameW)} ${fit("MODULE", moduleW)}`, width);
}

/** The cells of a caller or callee: samples, share and name; then the short module. */
export function edgeCells(edge: CallEdge, width: number): Cells {
	const fixed = `${right(formatCount(edge.samples), SAMPLES_W)} ${right(formatPercent(edge.percent), PCT_W)} ${frameMarker(edge.kernel)} `;
	const [nameW, moduleW] = nameAndModuleWidths(width, fixed.length);
	return {
		left: `${fixed}${fit(edge.name, nameW)}`.trimEnd(),
		at: fixed.length + nameW + 1,
		last: fit(moduleLabel(edge.module), moduleW).trimEnd(),
	};
}

/** How a header segment should stand out; the view maps tones to colours, batch mode ignores them. */
export type Tone = "plain" | "dim" | "info" | "warn" | "alert";

/** A piece of a header line. */
export interface Segment {
	readonly text: string;
	readonly tone: Tone;
}

/** What the header shows besides the snapshot. */
export interface HeaderInfo {
	readonly stats: SamplerStats;
	/** Samples per second over the last interval, every process. */
	readonly samplesPerSecond: number;
	/** tsprof's own CPU % (of one CPU) over the last interval. */
	readonly selfCpuPercent: number;
	/** tsprof's own resident set size, bytes. */
	readonly selfRssBytes: number;
	readonly filter: ViewFilter;
	/** The source samples only these pids and what they start (`--pid`); empty or absent: all. */
	readonly following?: readonly number[];
	/** Seconds the function table covers. */
	readonly windowS: number;
	readonly paused: boolean;
	/** File being recorded to, with the samples it holds so far. */
	readonly recording?: { readonly file: string; readonly samples: number };
	/** The view shows off-CPU time (`o`): `samplesPerSecond` is then blocked ns a second. */
	readonly offCpu?: boolean;
}

function segment(text: string, tone: Tone = "plain"): Segment {
	return { text, tone };
}

const GAP = segment("  ");

/** Active filters as words; empty when there are none. */
export function filterText(filter: ViewFilter): string {
	const parts: string[] = [];
	if (filter.pids.length > 0) parts.push(`pid ${filter.pids.join(",")}`);
	if (filter.search !== "") parts.push(`search "${filter.search}"`);
	if (filter.hideKernel) parts.push("kernel hidden");
	return parts.join("  ");
}

/**
 * The header as segments, most important line first: rates, then the
 * sampler's housekeeping, then what the view is doing (filters, pause,
 * recording), so a short terminal that drops the middle line keeps the rest.
 */
export function headerLines(info: HeaderInfo): Segment[][] {
	const { stats } = info;
	const rates: Segment[] = [
		segment("tsprof top", "info"),
		GAP,
		...(info.offCpu
			? [segment("OFF-CPU", "warn"), segment(`  blocked ${formatNanoseconds(info.samplesPerSecond)}/s  ${stats.cpus} CPUs  `)]
			: [segment(`${stats.frequencyHz} Hz  ${stats.cpus} CPUs  ${formatCount(info.samplesPerSecond)} samples/s  `)]),
		segment(
			`lost ${formatCount(stats.lostSamples)}`,
			stats.lostSamples > 0 ? "warn" : "plain",
		),
		segment("  │  "),
		segment(
			`tsprof ${formatPercent(info.selfCpuPercent)}% CPU  ${formatBytes(info.selfRssBytes)} RSS`,
		),
	];
	const { mapCleanup } = stats;
	const housekeeping: Segment[] = [
		segment(
			`processes seen ${formatCount(stats.processesSeen)}  deferred ${formatCount(stats.deferredProcesses)}`,
			"dim",
		),
		segment("  │  ", "dim"),
		segment(
			`map cleanup: batch ${formatCount(mapCleanup.batchDeletes)}  fallback ${formatCount(mapCleanup.fallbackDeletes)}  `,
			"dim",
		),
		segment(
			`failed ${formatCount(mapCleanup.failures)}`,
			mapCleanup.failures > 0 ? "warn" : "dim",
		),
	];
	const filters = filterText(info.filter);
	const status: Segment[] = [
		filters === ""
			? segment("no filters", "dim")
			: segment(`filter: ${filters}`, "warn"),
		segment(`  │  window ${Math.round(info.windowS)} s`, "dim"),
	];
	if (info.following && info.following.length > 0) {
		status.unshift(
			segment(`following pid ${info.following.join(",")} and descendants`, "info"),
			segment("  │  "),
		);
	}
	if (info.paused) status.push(segment("  │  "), segment("PAUSED", "alert"));
	if (info.recording) {
		status.push(
			segment("  │  "),
			segment(
				`● REC ${info.recording.file} (${formatCount(info.recording.samples)} samples)`,
				"alert",
			),
		);
	}
	return [rates, housekeeping, status];
}

export function segmentsText(line: readonly Segment[]): string {
	return line.map((s) => s.text).join("");
}

/** How much batch mode prints per snapshot. */
export interface BatchLimits {
	readonly width: number;
	readonly processes: number;
	readonly functions: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
	width: 120,
	processes: 20,
	functions: 30,
};

/** One `top -b` style snapshot: header, process table, function table, blank line. */
export function batchText(
	view: TopSnapshot,
	info: HeaderInfo,
	time: Date,
	limits: BatchLimits = DEFAULT_BATCH_LIMITS,
): string {
	const { width } = limits;
	const lines: string[] = [];
	const [rates = [], housekeeping = [], status = []] = headerLines(info);
	lines.push(
		fit(`${segmentsText(rates)}  │  ${time.toISOString()}`, width).trimEnd(),
	);
	lines.push(fit(segmentsText(housekeeping), width).trimEnd());
	lines.push(fit(segmentsText(status), width).trimEnd());
	lines.push("");
	lines.push(processHeader(width, info.offCpu).trimEnd());
	for (const row of view.processes.slice(0, limits.processes))
		lines.push(processLine(row, width, info.offCpu).trimEnd());
	if (view.processes.length === 0) lines.push("(no samples)");
	lines.push("");
	lines.push(functionHeader(width, view.sort).trimEnd());
	for (const row of view.functions.slice(0, limits.functions))
		lines.push(functionLine(row, width).trimEnd());
	if (view.functions.length === 0) lines.push("(no samples)");
	lines.push("");
	return `${lines.join("\n")}\n`;
}
