/**
 * `tsprof report FILE`: read a recording, filter, aggregate, print.
 * Composition only; the parts live in output/ and profile/.
 */
import { UserError } from "../errors.js";
import { basename } from "node:path";
import { flameGraphSvg } from "../output/flamegraph-svg.js";
import { formatFolded } from "../output/folded.js";
import { readProfileFile } from "../output/pprof.js";
import {
	DEFAULT_TEXT_TOP,
	formatReportJson,
	formatReportText,
} from "../output/report-text.js";
import { toSpeedscope } from "../output/speedscope.js";
import { aggregate, filterSamples } from "../profile/aggregate.js";

/** The output formats `report` itself renders. */
export type ReportFormat = "table" | "json" | "folded" | "svg" | "speedscope";

/** What `tsprof report` was asked to do. */
export interface ReportOptions {
	/** The recording (gzipped or raw pprof). */
	readonly file: string;
	/** `table` by default, `--json`, `--folded`, `--svg`, `--speedscope`. */
	readonly format: ReportFormat;
	/** Only these pids (`--pid`); empty means all. */
	readonly pids: readonly number[];
	/** Only these comms (`--comm`); empty means all. */
	readonly comms: readonly string[];
	/**
	 * Rows per list (`--top`). Undefined means the format's default: 20 for
	 * the table, every row for JSON. Folded output ignores it.
	 */
	readonly top?: number;
	/** Where the report goes. */
	readonly stdout: NodeJS.WritableStream;
}

/** Runs `tsprof report`; failures the user can fix are UserErrors. */
export async function report(opts: ReportOptions): Promise<void> {
	if (opts.top !== undefined && !(Number.isInteger(opts.top) && opts.top > 0)) {
		throw new UserError(`--top must be a positive integer, not ${opts.top}`);
	}
	const profile = await readProfileFile(opts.file);
	const filter = { pids: opts.pids, comms: opts.comms };

	let text: string;
	switch (opts.format) {
		case "folded":
			text = formatFolded(filterSamples(profile.samples, filter));
			break;
		case "svg":
			text = flameGraphSvg(profile, filterSamples(profile.samples, filter), {
				title: `tsprof: ${basename(opts.file)}`,
			});
			break;
		case "speedscope":
			text = `${JSON.stringify(toSpeedscope(profile, filterSamples(profile.samples, filter), basename(opts.file)))}\n`;
			break;
		case "json":
			text = formatReportJson(
				profile,
				aggregate(profile.samples, filter),
				opts.top,
			);
			break;
		case "table":
			text = formatReportText(
				profile,
				aggregate(profile.samples, filter),
				opts.top ?? DEFAULT_TEXT_TOP,
			);
			break;
		default:
			throw new UserError(`unknown report format ${String(opts.format)}`);
	}
	await write(opts.stdout, text);
}

/** Resolves once the stream took the text, so callers may exit right after. */
function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
	return new Promise((resolve, reject) => {
		stream.write(text, (err) => (err ? reject(err) : resolve()));
	});
}
