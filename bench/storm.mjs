#!/usr/bin/env node
// Figure 7: attribution of short-lived processes. The project's fixtures
// spawn-storm and brief-burn start COUNT processes of about MS ms of CPU
// each, two at a time, while `tsprof record`, bpftrace
// (`profile:hz:99 /comm == "brief-burn"/ { @[ustack] = count(); }`) and
// `perf record -g -a -F 99` (then `perf script`) all sample at once. For
// each: the samples it gave the brief-burn processes (the CPU they burnt
// says about COUNT × MS × 99 / 1000), and the share of those whose stack
// holds brief_burn_xyz, the function that does the burning.
//
// Usage: node bench/storm.mjs [--runs 3] [--count 300] [--ms 30]   (root, after npm install;
//        BENCH_QUICK=1 for a short check that it runs)
import { parseArgs } from "node:util";
import {
	armed,
	cli,
	compile,
	emit,
	fmt,
	median,
	missing,
	pick,
	requireSetup,
	say,
	sleep,
	start,
	stop,
	tempDir,
	timed,
} from "./lib.mjs";

const { values: args } = parseArgs({
	options: {
		runs: { type: "string", default: String(pick(3, 1)) },
		count: { type: "string", default: String(pick(300, 40)) },
		ms: { type: "string", default: "30" },
	},
});
const runs = Number(args.runs);
const count = Number(args.count);
const ms = Number(args.ms);
requireSetup();
const noBpftrace = missing("bpftrace");
const noPerf = missing("perf");
const dir = tempDir();
const burn = compile("test/fixtures/brief-burn.c", dir);
const storm = compile("test/fixtures/spawn-storm.c", dir);
const expected = (count * ms * 99) / 1000;
const HOT = "brief_burn_xyz";

/** { samples, hot } from bpftrace's map: "@[" stack lines "]: N" per entry. */
function bpftraceCounts(text) {
	let samples = 0;
	let hot = 0;
	for (const entry of text.split("@[").slice(1)) {
		const n = Number(/\]: (\d+)/.exec(entry)?.[1] ?? 0);
		samples += n;
		if (entry.includes(HOT)) hot += n;
	}
	return { samples, hot };
}

/** { samples, hot } from `perf script -F comm,ip,sym`: one block per sample, header first. */
function perfCounts(text) {
	let samples = 0;
	let hot = 0;
	for (const block of text.split(/\n\s*\n/)) {
		if (!block.startsWith("brief-burn")) continue;
		samples++;
		if (block.includes(HOT)) hot++;
	}
	return { samples, hot };
}

const rows = [];
const notes = [noBpftrace, noPerf].filter(Boolean);
const lastLine = (text) => text.trim().split("\n").at(-1) ?? "";
for (let r = 1; r <= runs; r++) {
	const ours = start(cli, ["record", "-o", `${dir}/s.pb.gz`], { capture: true });
	// perf after tsprof is up: perf 6.1 here often aborts reading a recording in which tsprof started.
	await armed(ours);
	const bt = noBpftrace ? undefined : start("bpftrace", ["-e", 'profile:hz:99 /comm == "brief-burn"/ { @[ustack] = count(); }'], { capture: true });
	const perf = noPerf ? undefined : start("perf", ["record", "-g", "-a", "-F", "99", "-B", "-o", `${dir}/p.data`], { capture: true });
	await Promise.all([armed(ours), bt && armed(bt)]);
	// perf holds no BPF program to watch; give it time to open its events.
	await sleep(2000);
	const run = await timed(storm, [String(count), "2", burn, String(ms)]);
	await sleep(1000);
	const [o, b, p] = await Promise.all([stop(ours, "SIGINT"), bt && stop(bt, "SIGINT"), perf && stop(perf, "SIGINT")]);
	if (o.code !== 0) throw new Error(`tsprof record failed: ${o.stderr.trim()}`);
	const report = await timed(cli, ["report", `${dir}/s.pb.gz`, "--json", "--comm", "brief-burn"]);
	const json = JSON.parse(report.stdout);
	const row = { run: r, stormS: run.wallS, ours: { samples: json.samples, hot: json.functions.find((f) => f.name === HOT)?.total ?? 0 } };
	if (b) row.bpftrace = bpftraceCounts(b.stdout);
	if (p) {
		const script = await timed("perf", ["script", "-i", `${dir}/p.data`, "--comm", "brief-burn", "-F", "comm,ip,sym"]);
		// perf 6.1 aborts reading some system-wide recordings (assertions in util/build-id.c).
		if (script.code === 0) row.perf = perfCounts(script.stdout);
		else notes.push(`run ${r}: perf script exited with ${script.code}: ${lastLine(script.stderr)}`);
	}
	rows.push(row);
	const show = (c) => (c ? `${c.samples} samples, ${fmt((c.hot / Math.max(1, c.samples)) * 100, 1)}% in ${HOT}` : "—");
	say(`run ${r} (storm ${fmt(run.wallS, 1)} s, ~${fmt(expected, 0)} samples expected): tsprof ${show(row.ours)}; bpftrace ${show(row.bpftrace)}; perf ${show(row.perf)}`);
	await sleep(1000);
}

const tools = [
	["tsprof record", "ours"],
	["bpftrace", "bpftrace"],
	["perf record -g + perf script", "perf"],
];
const share = (c) => (c ? (c.hot / Math.max(1, c.samples)) * 100 : Number.NaN);
const mOf = (key, f) => median(rows.map((r) => f(r[key])).filter(Number.isFinite));
emit({
	id: "storm",
	title: "7. Short-lived processes (storm)",
	method: `test/fixtures/spawn-storm starts ${count} processes of test/fixtures/brief-burn (${ms} ms of CPU each, 2 at a time; ≈ ${fmt(expected, 0)} samples at 99 Hz), while all three tools sample every CPU at 99 Hz at once; samples given to comm brief-burn, and the share of them with ${HOT} in the stack; medians of ${runs} runs.`,
	columns: ["tool", "samples per run", "median samples", `median share with ${HOT}`],
	rows: tools.map(([name, key]) => [name, rows.map((r) => r[key]?.samples ?? "—").join(", "), fmt(mOf(key, (c) => c?.samples ?? Number.NaN), 0), `${fmt(mOf(key, share), 1)}%`]),
	targets: [
		{
			what: `short-lived samples named (${HOT} in the stack)`,
			target: "—",
			value: `tsprof ${fmt(mOf("ours", share), 1)}%, bpftrace ${fmt(mOf("bpftrace", share), 1)}%, perf ${fmt(mOf("perf", share), 1)}%`,
			met: null,
		},
	],
	notes,
});
