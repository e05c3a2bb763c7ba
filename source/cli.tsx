#!/usr/bin/env -S node --max-semi-space-size=4 --v8-pool-size=1 --no-wasm-tier-up --interrupt-budget=2162688
// V8 flags, each measured on `tsprof top` (ARCHITECTURE.md, Cost):
// - one V8 worker thread instead of four: background GC and compiling cost
//   about a third less CPU in all;
// - an interrupt budget 32 times the default: only code that runs hot in
//   absolute terms (the unwinder at thousands of samples a second) is worth
//   TurboFan; the view's code runs once a second, and compiling it cost more
//   CPU in top's first minute than it ever saved;
// - Yoga's layout (WebAssembly) stays in the baseline tier for the same reason;
// - a 4 MiB young generation: fewer scavenges than 1 MiB at the same RSS.
/**
 * tsprof's command line: parses arguments and dispatches to a command.
 * Every failure the user can act on ends as one line on stderr.
 */
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import meow from "meow";
import { UserError } from "./errors.js";

/** V8's own interrupt budget (Node 20), for when the shebang's is too large. */
const V8_DEFAULT_INTERRUPT_BUDGET = 67584;
/** Samples a second from which the unwinder is hot from the start. */
const HOT_SAMPLES_PER_S = 1000;

const help = `
  Usage
    $ tsprof top [--pid N]... [-F HZ] [-d SECONDS] [-n COUNT] [--off-cpu [--min-block US]] [--record FILE] [--input FILE] [--push URL] [-- COMMAND...]
    $ tsprof record -o FILE [--duration SECONDS] [-F HZ] [--pid N]... [--off-cpu [--min-block US]] [--push URL] [-- COMMAND...]
    $ tsprof report FILE [--json | --folded | --svg | --speedscope] [--pid N]... [--comm NAME]... [--top N]
    $ tsprof --version     version, kernel features and addon, in one line for bug reports

  Options
    -F, --frequency HZ   sampling frequency per CPU (default 99)
    --pid N              only this process and the processes it starts (repeatable)
    -o, --output FILE    where record writes its gzipped pprof profile
    --duration SECONDS   stop recording after this long (default: until Ctrl-C)
    -d, --delay SECONDS  top's refresh interval (default 1)
    -n, --iterations N   top: stop after N refreshes
    --record FILE        top: record to FILE from the start
    --input FILE         top: replay a recording instead of sampling
    --json, --folded     report formats (default: a table)
    --svg, --speedscope  report: a flame graph SVG, or speedscope's JSON
    --push URL           send a profile every interval to a Pyroscope-compatible server
    --push-interval S    seconds between pushes (default 10)
    --app NAME           push: the application name (default tsprof)
    --label K=V          push: a label of every profile (repeatable)
                         credentials: TSPROF_PUSH_TOKEN (bearer) or TSPROF_PUSH_BASIC_AUTH (user:password)
    --comm NAME          report: only processes with this command name (repeatable)
    --top N              report: rows per list
    -- COMMAND...        start COMMAND and profile it and its descendants (record
                         stops when it exits); node and python >= 3.12 are told
                         to write perf maps, so JavaScript and Python are named

  tsprof needs root (or CAP_BPF and CAP_PERFMON) and a kernel >= 5.8 with BTF.
`;

const flags = {
	frequency: { type: "number", shortFlag: "F", default: 99 },
	pid: { type: "number", isMultiple: true, default: [] as number[] },
	output: { type: "string", shortFlag: "o" },
	duration: { type: "number" },
	delay: { type: "number", shortFlag: "d", default: 1 },
	iterations: { type: "number", shortFlag: "n" },
	record: { type: "string" },
	input: { type: "string" },
	json: { type: "boolean", default: false },
	folded: { type: "boolean", default: false },
	svg: { type: "boolean", default: false },
	speedscope: { type: "boolean", default: false },
	push: { type: "string" },
	pushInterval: { type: "number", default: 10 },
	app: { type: "string", default: "tsprof" },
	label: { type: "string", isMultiple: true, default: [] as string[] },
	comm: { type: "string", isMultiple: true, default: [] as string[] },
	top: { type: "number" },
	offCpu: { type: "boolean", default: false },
	minBlock: { type: "number", default: 100 },
} as const;

const PUSH_FLAGS = ["push", "pushInterval", "app", "label"];

/** Which flags each command accepts (besides --help and --version). */
const accepted: Record<string, readonly string[]> = {
	top: ["frequency", "pid", "delay", "iterations", "record", "input", "offCpu", "minBlock", ...PUSH_FLAGS],
	record: ["frequency", "pid", "output", "duration", "offCpu", "minBlock", ...PUSH_FLAGS],
	report: ["json", "folded", "svg", "speedscope", "pid", "comm", "top"],
};

function checkMinBlock(us: number): void {
	if (!(Number.isFinite(us) && us >= 0)) throw new UserError("--min-block must be a number of microseconds >= 0", 2);
}

function positiveNumber(name: string, v: number | undefined): void {
	if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new UserError(`--${name} must be a positive number`, 2);
}

/** `--push` and its companions, checked; credentials come from the environment only. */
async function pushConfig(f: { push?: string; pushInterval: number; app: string; label: string[] }) {
	if (f.push === undefined) return undefined;
	try {
		const url = new URL(f.push);
		if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
	} catch {
		throw new UserError(`--push needs an http(s) URL, not '${f.push}'`, 2);
	}
	positiveNumber("push-interval", f.pushInterval);
	const name = /^[A-Za-z0-9_.\-]+$/;
	if (!name.test(f.app)) throw new UserError("--app may use letters, digits, '_', '.' and '-'", 2);
	const labels = f.label.map((l): [string, string] => {
		const [k, v] = [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)];
		if (!l.includes("=") || !name.test(k) || !name.test(v)) throw new UserError(`--label needs KEY=VALUE of letters, digits, '_', '.' and '-', not '${l}'`, 2);
		return [k, v];
	});
	const { pushAuthFromEnv } = await import("./output/push.js");
	return { url: f.push, app: f.app, labels, intervalS: f.pushInterval, authorization: pushAuthFromEnv(process.env) };
}

async function main(): Promise<void> {
	const cli = meow(help, { importMeta: import.meta, flags, allowUnknownFlags: true, autoHelp: true, autoVersion: false });
	// Everything after the first `--` is a command to launch; meow lists it among the input.
	const dashdash = process.argv.indexOf("--", 2);
	const launchArgs = dashdash < 0 ? [] : process.argv.slice(dashdash + 1);
	const [command, ...rest] = cli.input.slice(0, cli.input.length - launchArgs.length);
	const own = process.argv.slice(2);
	// Flags after `--` belong to the launched command.
	const ownFlags = own.includes("--") ? own.slice(0, own.indexOf("--")) : own;
	if (ownFlags.includes("--version")) {
		const { gatherVersionFacts, versionLine } = await import("./commands/version.js");
		process.stdout.write(`${versionLine(gatherVersionFacts(cli.pkg.version ?? "unknown"))}
`);
		return;
	}
	if (dashdash >= 0 && launchArgs.length === 0) throw new UserError("'--' needs a command after it", 2);
	if (!command) {
		cli.showHelp(0);
		return;
	}
	if (!(command in accepted)) throw new UserError(`unknown command '${command}' (try: tsprof --help)`, 2);
	// meow answers --help only as the one argument; after a command it would
	// start that command (top would sample), so answer it here, before anything loads.
	if (ownFlags.includes("--help") || ownFlags.includes("-h")) {
		process.stdout.write(`${cli.help}\n`);
		return;
	}
	const known = new Set([...accepted[command], "help", "version"]);
	const byShort = new Map(Object.entries(flags).flatMap(([name, f]) => ("shortFlag" in f ? [[f.shortFlag as string, name]] : [])));
	// meow fills in defaults, so the raw arguments tell what the user typed.
	const args = process.argv.slice(2);
	for (const [i, arg] of args.entries()) {
		if (arg === "--") break;
		if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) continue;
		const raw = arg.replace(/^--?/, "").split("=")[0];
		const name = arg.startsWith("--") ? raw.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) : byShort.get(raw[0]);
		if (!name || !known.has(name)) {
			throw new UserError(`unknown option '${arg.split("=")[0]}' for tsprof ${command} (try: tsprof --help)`, 2);
		}
		// meow leaves a valued option without its value undefined, as if never given.
		const type = name in flags ? flags[name as keyof typeof flags].type : "boolean";
		const inline = arg.includes("=") || (!arg.startsWith("--") && raw.length > 1);
		const next = args[i + 1];
		if (type !== "boolean" && !inline && (next === undefined || (next.startsWith("-") && !/^-\d/.test(next)))) {
			throw new UserError(`option '${arg}' needs a value`, 2);
		}
	}
	const f = cli.flags;
	for (const pid of f.pid) {
		if (!Number.isInteger(pid) || pid <= 0) throw new UserError("--pid needs a positive process id", 2);
	}
	positiveNumber("frequency", f.frequency);
	positiveNumber("duration", f.duration);
	positiveNumber("delay", f.delay);
	positiveNumber("iterations", f.iterations);
	positiveNumber("top", f.top);
	if (f.frequency > 10000) throw new UserError("--frequency above 10000 Hz is not supported", 2);
	// The shebang's large interrupt budget suits the usual rates, where
	// nothing is hot; at thousands of samples a second the unwinder is hot
	// from the start, and optimizing it early pays for itself.
	if ((command === "top" || command === "record") && f.frequency * availableParallelism() >= HOT_SAMPLES_PER_S) {
		setFlagsFromString(`--interrupt-budget=${V8_DEFAULT_INTERRUPT_BUDGET}`);
	}

	switch (command) {
		case "report": {
			if (rest.length !== 1) throw new UserError("usage: tsprof report FILE [--json | --folded | --svg | --speedscope]", 2);
			if (launchArgs.length > 0) throw new UserError("report does not start commands ('--')", 2);
			const formats = (["json", "folded", "svg", "speedscope"] as const).filter((name) => f[name]);
			if (formats.length > 1) throw new UserError("choose one of --json, --folded, --svg and --speedscope", 2);
			const { report } = await import("./commands/report.js");
			await report({
				file: rest[0],
				format: formats[0] ?? "table",
				pids: f.pid,
				comms: f.comm,
				top: f.top,
				stdout: process.stdout,
			});
			return;
		}
		case "record": {
			if (rest.length > 0) throw new UserError(`unexpected argument '${rest[0]}'`, 2);
			if (!f.output) throw new UserError("record needs -o FILE", 2);
			checkMinBlock(f.minBlock);
			const { resolveCommand, launchEnv } = await import("./commands/launch.js");
			// A command that cannot start fails before anything is armed.
			if (launchArgs.length > 0) resolveCommand(launchArgs[0], launchEnv(process.env));
			const { preflight } = await import("./kernel/preflight.js");
			preflight();
			const { loadKernel } = await import("./kernel/addon.js");
			const { ProcFs } = await import("./process/procfs.js");
			const { record } = await import("./commands/record.js");
			await record(
				{
					output: f.output,
					durationS: f.duration,
					frequencyHz: f.frequency,
					pids: f.pid,
					...(f.offCpu ? { offCpu: { minBlockUs: f.minBlock } } : {}),
					stderr: process.stderr,
					...(launchArgs.length > 0 ? { command: launchArgs } : {}),
					push: await pushConfig(f),
				},
				{ kernel: loadKernel(), proc: new ProcFs() },
			);
			return;
		}
		case "top": {
			if (rest.length > 0) throw new UserError(`unexpected argument '${rest[0]}'`, 2);
			if (launchArgs.length > 0 && f.input) throw new UserError("choose one of --input and -- COMMAND", 2);
			if (f.offCpu && f.input) throw new UserError("--off-cpu measures a live system; it does not apply to --input", 2);
			checkMinBlock(f.minBlock);
			// React's development build costs several times the CPU per frame;
			// it is chosen when react is first imported, which is below.
			process.env.NODE_ENV ??= "production";
			const { runTop } = await import("./commands/top-main.js");
			await runTop({
				frequencyHz: f.frequency,
				delayS: f.delay,
				pids: f.pid,
				record: f.record,
				iterations: f.iterations,
				input: f.input,
				...(f.offCpu ? { offCpu: true, minBlockUs: f.minBlock } : {}),
				...(launchArgs.length > 0 ? { command: launchArgs } : {}),
				push: await pushConfig(f),
			});
			return;
		}
	}
}

main().then(
	() => {
		process.exitCode ??= 0;
	},
	(error: unknown) => {
		if (error instanceof UserError) {
			process.stderr.write(`tsprof: ${error.message}\n`);
			process.exitCode = error.exitCode;
			return;
		}
		const e = error as Error;
		// Never a stack trace: one line, and TSPROF_DEBUG=1 for the rest.
		process.stderr.write(`tsprof: ${e?.message?.split("\n")[0] ?? String(error)}\n`);
		if (process.env.TSPROF_DEBUG) process.stderr.write(`${e?.stack}\n`);
		process.exitCode = 1;
	},
);
