/**
 * For the kernel integration tests: runs the real, built CLI (dist/bundle/cli.js)
 * as a child process, the way a user does, and parses what it prints.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { ReportJson } from "../../source/output/report-text.js";
import { waitFor } from "./kernel-fixtures.js";
import { cliPath } from "./root.js";

/** How a CLI run ended and what it printed. */
export interface CliResult {
	readonly code: number | null;
	readonly signal: NodeJS.Signals | null;
	readonly stdout: string;
	readonly stderr: string;
}

export interface CliOptions {
	readonly env?: NodeJS.ProcessEnv;
	/** Kill the run (SIGKILL) after this long; the result then has signal SIGKILL. */
	readonly timeoutMs?: number;
	/** Run `prefix... node dist/bundle/cli.js args...` (for setpriv, runuser). */
	readonly prefix?: readonly string[];
}

/** A CLI run in progress. */
export interface CliRun {
	readonly child: ChildProcess;
	readonly done: Promise<CliResult>;
}

/** Starts `node dist/bundle/cli.js ...args`. */
export function startCli(
	args: readonly string[],
	options: CliOptions = {},
): CliRun {
	const argv = [...(options.prefix ?? []), process.execPath, cliPath, ...args];
	const child = spawn(argv[0], argv.slice(1), {
		stdio: ["ignore", "pipe", "pipe"],
		env: options.env ?? process.env,
	});
	let stdout = "";
	let stderr = "";
	child.stdout?.setEncoding("utf8").on("data", (s: string) => {
		stdout += s;
	});
	child.stderr?.setEncoding("utf8").on("data", (s: string) => {
		stderr += s;
	});
	const timer = setTimeout(
		() => child.kill("SIGKILL"),
		options.timeoutMs ?? 60_000,
	);
	const done = new Promise<CliResult>((resolve, reject) => {
		child.once("error", reject);
		child.once("close", (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr });
		});
	});
	return { child, done };
}

/** Runs `node dist/bundle/cli.js ...args` to the end. */
export function runCli(
	args: readonly string[],
	options: CliOptions = {},
): Promise<CliResult> {
	return startCli(args, options).done;
}

/** Fails with everything the run printed unless it exited 0. */
export function assertOk(r: CliResult, what: string): CliResult {
	if (r.code !== 0)
		throw new Error(
			`${what} exited ${r.code ?? r.signal}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`,
		);
	return r;
}

/**
 * Starts `tsprof record -o file ...args` and resolves once it is armed:
 * record writes its file for the first time right after the probes are
 * armed and /proc scanned.
 */
export async function startRecord(
	file: string,
	args: readonly string[],
	options: CliOptions = {},
): Promise<CliRun> {
	const run = startCli(["record", "-o", file, ...args], options);
	let ended = false;
	void run.done.then(() => {
		ended = true;
	});
	await waitFor(
		`tsprof record to arm (${file})`,
		() => {
			if (ended) throw new Error(`tsprof record ended before it armed`);
			return existsSync(file);
		},
		20_000,
	);
	return run;
}

/** The summary line `record` prints last, parsed. */
export interface RecordSummary {
	readonly file: string;
	readonly samples: number;
	readonly lost: number;
	readonly processes: number;
	readonly size: string;
	readonly batchDeletes: number;
	readonly fallbackDeletes: number;
	readonly failures: number;
}

const SUMMARY =
	/^tsprof: wrote (.+): (\d+(?:\.\d+)?) (?:samples|s blocked), (\d+) lost, (\d+) processes, (\d+(?:\.\d+)? (?:B|KiB|MiB)) \(map cleanup: (\d+) batch deletes, (\d+) fallback deletes, (\d+) failures\)$/m;

/** Parses the record summary line out of stderr; undefined when there is none. */
export function parseRecordSummary(stderr: string): RecordSummary | undefined {
	const m = SUMMARY.exec(stderr);
	if (!m) return undefined;
	return {
		file: m[1],
		samples: Number(m[2]),
		lost: Number(m[3]),
		processes: Number(m[4]),
		size: m[5],
		batchDeletes: Number(m[6]),
		fallbackDeletes: Number(m[7]),
		failures: Number(m[8]),
	};
}

/** `tsprof report FILE --json ...args`, parsed. */
export async function reportJson(
	file: string,
	args: readonly string[] = [],
): Promise<ReportJson> {
	const r = assertOk(
		await runCli(["report", file, "--json", ...args]),
		`tsprof report ${file} --json ${args.join(" ")}`,
	);
	return JSON.parse(r.stdout) as ReportJson;
}

/** One line of `report --folded`: comm, frames outermost first, count. */
export interface FoldedStack {
	readonly comm: string;
	readonly frames: readonly string[];
	readonly count: number;
}

/** `tsprof report FILE --folded ...args`, parsed. */
export async function reportFolded(
	file: string,
	args: readonly string[] = [],
): Promise<FoldedStack[]> {
	const r = assertOk(
		await runCli(["report", file, "--folded", ...args]),
		`tsprof report ${file} --folded ${args.join(" ")}`,
	);
	return r.stdout
		.split("\n")
		.filter((l) => l.length > 0)
		.map((l) => {
			const space = l.lastIndexOf(" ");
			const [comm, ...frames] = l.slice(0, space).split(";");
			return { comm, frames, count: Number(l.slice(space + 1)) };
		});
}
