#!/usr/bin/env node
// `npm run bench`: runs every figure script in turn on a machine otherwise
// quiet, collects the `BENCH {json}` line each ends with, and writes
// bench/RESULTS.md: the machine, the date, every figure beside its peer,
// its target and whether it is met. A script that fails is reported as
// such and the rest still run. Under 10 minutes in all.
//
// Usage: node bench/run-all.mjs [--out FILE] [--only ID,ID]   (root, after npm install)
//        BENCH_QUICK=1 runs everything briefly, to check that it works, and
//        writes to a temporary file instead (its figures mean nothing).
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const QUICK = process.env.BENCH_QUICK === "1";
const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..");
const { values: args } = parseArgs({
	options: {
		out: { type: "string", default: QUICK ? join(tmpdir(), "tsprof-bench-RESULTS-quick.md") : join(here, "RESULTS.md") },
		only: { type: "string" },
	},
});

/** The figure scripts, in the order they run; the node flags each needs. */
const SCRIPTS = [
	{ file: "bpf-cost.mjs", ids: ["bpf-cost"] },
	{ file: "top-cost.mjs", ids: ["top-cost"] },
	{ file: "record-vs-perf.mjs", ids: ["record-cost", "bytes-per-sample"] },
	{ file: "lost-samples.mjs", ids: ["lost-samples"] },
	{ file: "first-frame.mjs", ids: ["first-frame"] },
	{ file: "symbolize.mjs", ids: ["symbolize"] },
	{ file: "storm.mjs", ids: ["storm"] },
	{ file: "slowdown.mjs", ids: ["slowdown"] },
];
const only = args.only?.split(",");
const chosen = only ? SCRIPTS.filter((s) => s.ids.some((id) => only.includes(id))) : SCRIPTS;
if (process.getuid?.() !== 0) {
	process.stderr.write("run-all.mjs: needs root (BPF, perf events)\n");
	process.exit(2);
}

let current;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
	process.on(signal, () => {
		// Each script cleans up after itself on these signals.
		current?.kill(signal);
		process.exit(130);
	});
}

/** Runs one script; its stderr (progress) passes through, its BENCH lines are returned. */
function runScript(file) {
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [join(here, file)], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
		current = child;
		let out = "";
		let lastErr = "";
		child.stdout.on("data", (d) => {
			out += d;
		});
		child.stderr.on("data", (d) => {
			process.stderr.write(d);
			lastErr = `${lastErr}${d}`.slice(-2000);
		});
		child.on("close", (code, signal) => {
			current = undefined;
			const results = out
				.split("\n")
				.filter((l) => l.startsWith("BENCH "))
				.map((l) => JSON.parse(l.slice(6)));
			resolve({ code, signal, results, lastErr: lastErr.trim().split("\n").at(-1) ?? "" });
		});
	});
}

const firstLine = (cmd, args) => {
	try {
		return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n")[0];
	} catch {
		return "not installed";
	}
};
const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
const commit = firstLine("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
const machine = [
	["CPUs (nproc)", firstLine("nproc", [])],
	["CPU model", model],
	["kernel", firstLine("uname", ["-r"])],
	["memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
	["Node.js", process.version],
	["tsprof", `${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version} (commit ${commit})`],
	["perf", firstLine("perf", ["--version"])],
	["bpftrace", firstLine("bpftrace", ["--version"])],
	["addr2line", firstLine("addr2line", ["--version"])],
	["eu-addr2line", firstLine("eu-addr2line", ["--version"])],
	["load average at start", readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")],
];

const t0 = performance.now();
const figures = [];
const failures = [];
for (const script of chosen) {
	const s0 = performance.now();
	process.stderr.write(`\n== ${script.file}\n`);
	const r = await runScript(script.file);
	const secs = (performance.now() - s0) / 1000;
	process.stderr.write(`== ${script.file}: ${r.results.length} figure(s) in ${secs.toFixed(0)} s\n`);
	for (const f of r.results) figures.push({ ...f, seconds: secs });
	if (r.code !== 0 || r.results.length === 0) failures.push(`${script.file} exited with ${r.code ?? r.signal}: ${r.lastErr}`);
}
const totalS = (performance.now() - t0) / 1000;

// ---- RESULTS.md ----------------------------------------------------------

const cell = (x) => String(x ?? "—").replaceAll("|", "\\|");
const table = (columns, rows) => [`| ${columns.map(cell).join(" | ")} |`, `| ${columns.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
const verdict = (met) => (met === true ? "met" : met === false ? "**not met**" : "no target");
const number = (f) => Number(/^(\d+)\./.exec(f.title)?.[1] ?? 99);
figures.sort((a, b) => number(a) - number(b));

const lines = [
	"# tsprof benchmarks",
	"",
	QUICK
		? "**Quick mode (BENCH_QUICK=1): durations and run counts cut to check that the harness works. These figures mean nothing.**\n"
		: "",
	`Written by \`npm run bench\` (bench/run-all.mjs) on ${new Date().toISOString().replace("T", " ").slice(0, 16)} UTC, in ${(totalS / 60).toFixed(1)} minutes. Every figure is measured beside its peer in the same run, as the median of the runs given with it; ratios are taken within a run. Each figure's script under bench/ runs alone too (see its usage line).`,
	"",
	"## Machine",
	"",
	table(["", ""], machine),
	"",
	"## Targets",
	"",
	table(
		["figure", "what", "target", "measured", "status"],
		figures.flatMap((f) => f.targets.map((t) => [f.title.replace(/^(\d+)\..*$/, "$1"), t.what, t.target, t.value, verdict(t.met)])),
	),
	"",
];
if (failures.length > 0) lines.push("## Scripts that failed", "", ...failures.map((f) => `- ${f}`), "");
for (const f of figures) {
	lines.push(`## ${f.title}`, "", `${f.method ?? ""} (Its script ran ${f.seconds.toFixed(0)} s.)`, "");
	if (f.columns.length > 0) lines.push(table(f.columns, f.rows), "");
	for (const note of f.notes ?? []) lines.push(`- ${note}`);
	if ((f.notes ?? []).length > 0) lines.push("");
}
const missingIds = chosen.flatMap((s) => s.ids).filter((id) => !figures.some((f) => f.id === id));
if (missingIds.length > 0) lines.push(`Figures with no result: ${missingIds.join(", ")}.`, "");
writeFileSync(args.out, lines.filter((l, i) => l !== "" || lines[i - 1] !== "").join("\n"));
process.stderr.write(`\nwrote ${args.out} (${figures.length} figures, ${failures.length} failed scripts) in ${(totalS / 60).toFixed(1)} min\n`);
process.exit(failures.length > 0 ? 1 : 0);
