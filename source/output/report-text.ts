/**
 * What `tsprof report` prints by default (a perf-report-like table) and with
 * `--json` (the object the README specifies). Pure: strings in, strings out.
 */
import type { Aggregate } from "../profile/aggregate.js";
import type { Profile } from "../profile/model.js";
import { reasonOfName, type UnknownKind, unknownKind } from "../symbols/unknown.js";

/** The profile-wide figures a report shows beside the aggregate. */
export type ReportHeader = Pick<
	Profile,
	"unit" | "frequencyHz" | "durationMs" | "lostSamples"
>;

/** Rows shown per table when no `--top` is given. */
export const DEFAULT_TEXT_TOP = 20;

const MAX_NAME_WIDTH = 60;
const MAX_MODULE_WIDTH = 40;
const MAX_COMM_WIDTH = 16;
const INDENT = "  ";

/** The `report --json` object, with keys in the documented order. */
export interface ReportJson {
	/** Sum of the values of the samples that passed the filters. */
	readonly samples: number;
	/** Samples the recorder could not deliver, for the whole file. */
	readonly lostSamples: number;
	/** Length of the recording. */
	readonly durationMs: number;
	/** Sampling frequency of the recording. */
	readonly frequencyHz: number;
	/** What `samples`, `self` and `total` count. */
	readonly unit: Profile["unit"];
	/** Sorted by samples, descending. */
	readonly processes: readonly {
		readonly pid: number;
		readonly comm: string;
		readonly exe: string;
		readonly samples: number;
	}[];
	/** Sorted by self, descending. */
	readonly functions: readonly {
		readonly name: string;
		readonly module: string;
		readonly self: number;
		readonly total: number;
		/** For a frame that could not be named: why (the text in its name's parentheses)... */
		readonly unknownReason?: string;
		/** ...and the kind of reason, from a short fixed list. */
		readonly unknownKind?: UnknownKind;
	}[];
}

/**
 * The `report --json` object. `top` limits both lists; undefined means all.
 * Only the documented fields are copied, so the contract does not grow by
 * accident when the rows do.
 */
export function reportJson(
	header: ReportHeader,
	agg: Aggregate,
	top?: number,
): ReportJson {
	const processes =
		top === undefined ? agg.processes : agg.processes.slice(0, top);
	const functions =
		top === undefined ? agg.functions : agg.functions.slice(0, top);
	return {
		samples: agg.total,
		lostSamples: header.lostSamples,
		durationMs: header.durationMs,
		frequencyHz: header.frequencyHz,
		unit: header.unit,
		processes: processes.map((p) => ({
			pid: p.pid,
			comm: p.comm,
			exe: p.exe,
			samples: p.samples,
		})),
		functions: functions.map((f) => {
			const reason = reasonOfName(f.name);
			const kind = reason === undefined ? undefined : unknownKind(reason);
			return {
				name: f.name,
				module: f.module,
				self: f.self,
				total: f.total,
				...(reason === undefined ? {} : { unknownReason: reason }),
				...(kind === undefined ? {} : { unknownKind: kind }),
			};
		}),
	};
}

/** `reportJson` as the text `report --json` prints. */
export function formatReportJson(
	header: ReportHeader,
	agg: Aggregate,
	top?: number,
): string {
	return `${JSON.stringify(reportJson(header, agg, top), null, 2)}\n`;
}

/**
 * The default report: a summary line, then the top `top` processes and
 * functions as aligned tables.
 */
export function formatReportText(
	header: ReportHeader,
	agg: Aggregate,
	top: number = DEFAULT_TEXT_TOP,
): string {
	const value = (v: number) => formatValue(header.unit, v);
	const pct = (v: number) => formatPercent(v, agg.total);
	const out: string[] = [summaryLine(header, agg.total), ""];
	if (agg.total === 0 && agg.functions.length === 0) {
		out.push("No samples.");
		return `${out.join("\n")}\n`;
	}

	const procs = agg.processes.slice(0, top);
	out.push(sectionTitle("Processes", procs.length, agg.processes.length));
	out.push(
		...indent(
			table(
				[
					[
						"PID",
						"COMM",
						header.unit === "nanoseconds" ? "BLOCKED" : "SAMPLES",
						"%",
						"EXE",
					],
					...procs.map((p) => [
						String(p.pid),
						truncate(p.comm, MAX_COMM_WIDTH),
						value(p.samples),
						pct(p.samples),
						shortenPath(p.exe, MAX_MODULE_WIDTH),
					]),
				],
				"rlrrl",
			),
		),
	);
	out.push("");

	const fns = agg.functions.slice(0, top);
	out.push(sectionTitle("Functions", fns.length, agg.functions.length));
	out.push(
		...indent(
			table(
				[
					["SELF%", "TOTAL%", "SELF", "FUNCTION", "MODULE"],
					...fns.map((f) => [
						pct(f.self),
						pct(f.total),
						value(f.self),
						truncate(f.name, MAX_NAME_WIDTH),
						shortenPath(f.module, MAX_MODULE_WIDTH),
					]),
				],
				"rrrll",
			),
		),
	);
	return `${out.join("\n")}\n`;
}

function summaryLine(h: ReportHeader, total: number): string {
	const parts: string[] = [];
	parts.push(
		h.unit === "nanoseconds"
			? `${formatDuration(total)} off-CPU`
			: `${total} ${total === 1 ? "sample" : "samples"}`,
	);
	parts.push(`${formatDuration(h.durationMs * 1e6)} recorded`);
	if (h.frequencyHz > 0) parts.push(`${h.frequencyHz} Hz`);
	parts.push(`${h.lostSamples} lost`);
	return parts.join(", ");
}

function indent(lines: readonly string[]): string[] {
	return lines.map((l) => INDENT + l);
}

function sectionTitle(what: string, shown: number, of: number): string {
	return shown < of ? `${what} (top ${shown} of ${of})` : `${what} (${of})`;
}

/**
 * Pads columns to their widest cell; `align` has one `l` or `r` per column.
 * The last column is not padded, so no line ends in blanks.
 */
export function table(
	rows: readonly (readonly string[])[],
	align: string,
): string[] {
	const widths: number[] = [];
	for (const row of rows) {
		row.forEach((cell, i) => {
			widths[i] = Math.max(widths[i] ?? 0, cell.length);
		});
	}
	return rows.map((row) =>
		row
			.map((cell, i) => {
				if (i === row.length - 1 && align[i] !== "r") return cell;
				const w = widths[i] ?? 0;
				return align[i] === "r" ? cell.padStart(w) : cell.padEnd(w);
			})
			.join("  ")
			.trimEnd(),
	);
}

/** A sample count as an integer, nanoseconds as a short duration. */
export function formatValue(unit: Profile["unit"], v: number): string {
	return unit === "nanoseconds" ? formatDuration(v) : String(v);
}

/** Nanoseconds as `1.23s`, `45.6ms`, `789µs` or `12ns`. */
export function formatDuration(ns: number): string {
	const abs = Math.abs(ns);
	if (abs >= 1e9) return `${(ns / 1e9).toFixed(2)}s`;
	if (abs >= 1e6) return `${(ns / 1e6).toFixed(1)}ms`;
	if (abs >= 1e3) return `${(ns / 1e3).toFixed(0)}µs`;
	return `${Math.round(ns)}ns`;
}

/** `part` of `whole` with one decimal; `0.0%` when there is nothing. */
export function formatPercent(part: number, whole: number): string {
	return `${whole > 0 ? ((100 * part) / whole).toFixed(1) : "0.0"}%`;
}

/** Cuts `s` to `max` characters, marking the cut with `…`. */
export function truncate(s: string, max: number): string {
	return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * Keeps the end of a long path, where the file name is: whole trailing
 * components behind `…/`, and at least the (truncated) file name.
 */
export function shortenPath(path: string, max: number): string {
	if (path.length <= max) return path;
	const parts = path.split("/");
	let tail = parts.pop() ?? "";
	if (tail.length + 2 > max) return `…${tail.slice(tail.length - (max - 1))}`;
	while (parts.length > 0) {
		const next = `${parts[parts.length - 1]}/${tail}`;
		if (next.length + 2 > max) break;
		tail = next;
		parts.pop();
	}
	return `…/${tail}`;
}
