#!/usr/bin/env node
// Figure 2: what `tsprof top` costs beside `perf top -F 99 -g`, both live in
// 160x45 tmux panes at the same time, every CPU busy with a burner. Each
// second it reads the CPU time (all threads of the whole process tree) and
// the resident memory of both from /proc; one run gives the first window
// (5–25 s after start: warm-up and first frames) and the steady window
// (30 s to the end; 45 s by default, so that the whole bench fits in 10
// minutes: pass --seconds 90 for the 30–90 s window).
//
// Usage: node bench/top-cost.mjs [--runs 3] [--seconds 45]   (root, after npm install;
//        BENCH_QUICK=1 for a short check that it runs)
import { parseArgs } from "node:util";
import {
	burners,
	cli,
	emit,
	fmt,
	median,
	missing,
	pick,
	ratio,
	requireSetup,
	say,
	sleep,
	stopBurners,
	tempDir,
	tmuxSession,
	treeCpuCounter,
	treeRssBytes,
} from "./lib.mjs";

const { values: args } = parseArgs({
	options: { runs: { type: "string", default: String(pick(3, 1)) }, seconds: { type: "string", default: String(pick(45, 10)) } },
});
const runs = Number(args.runs);
const seconds = Number(args.seconds);
requireSetup();
const noTmux = missing("tmux");
if (noTmux) {
	emit({ id: "top-cost", title: "2. `top` CPU and memory", columns: [], rows: [], targets: [], notes: [noTmux] });
	process.exit(0);
}
const noPerf = missing("perf");
const FIRST = pick([5, 25], [2, 5]);
const STEADY = [pick(30, 6), seconds];
const TARGET_CPU = 0.6;
const TARGET_RATIO = 3;
const TARGET_MB = 80;
const dir = tempDir();
const busy = burners(dir);
await sleep(1000);

/** @param {number[]} cpu @param {readonly number[]} window [from, to] in seconds */
const percent = (cpu, [a, b]) => ((cpu[b] - cpu[a]) / (b - a)) * 100;
const rows = [];
for (let r = 1; r <= runs; r++) {
	const tag = `${process.pid}-${r}`;
	const ours = tmuxSession(`tsprof-bench-top-${tag}`, `${cli} top`);
	const theirs = noPerf ? undefined : tmuxSession(`tsprof-bench-perftop-${tag}`, "perf top -F 99 -g");
	const t0 = performance.now();
	const pids = [ours.panePid(), theirs?.panePid()];
	const counters = pids.map((pid) => (pid === undefined ? undefined : treeCpuCounter(pid)));
	/** @type {[number[], number[]]} */
	const cpu = [[], []];
	const rss = [0, 0];
	for (let t = 0; t <= seconds; t++) {
		await sleep(Math.max(0, t0 + t * 1000 - performance.now()));
		pids.forEach((pid, i) => {
			if (pid === undefined) return;
			cpu[i][t] = counters[i]();
			rss[i] = Math.max(rss[i], treeRssBytes(pid));
		});
	}
	const alive = ours.capture().length > 0;
	ours.kill();
	theirs?.kill();
	const row = {
		run: r,
		firstOurs: percent(cpu[0], FIRST),
		firstTheirs: theirs ? percent(cpu[1], FIRST) : Number.NaN,
		steadyOurs: percent(cpu[0], STEADY),
		steadyTheirs: theirs ? percent(cpu[1], STEADY) : Number.NaN,
		rssOurs: rss[0] / 2 ** 20,
		rssTheirs: theirs ? rss[1] / 2 ** 20 : Number.NaN,
		alive,
	};
	rows.push(row);
	say(
		`run ${r}: first ${FIRST.join("–")} s: tsprof ${fmt(row.firstOurs, 2)}%, perf top ${fmt(row.firstTheirs, 2)}%; steady ${STEADY.join("–")} s: tsprof ${fmt(row.steadyOurs, 2)}%, perf top ${fmt(row.steadyTheirs, 2)}%; peak RSS tsprof ${fmt(row.rssOurs, 0)} MB, perf top ${fmt(row.rssTheirs, 0)} MB${alive ? "" : " (tsprof top had exited)"}`,
	);
	await sleep(1000);
}
await stopBurners(busy);

const m = (key) => median(rows.map((r) => r[key]).filter(Number.isFinite));
const ratios = (a, b) => median(rows.map((r) => ratio(r[a], r[b])).filter(Number.isFinite));
const steadyRatio = ratios("steadyOurs", "steadyTheirs");
const firstRatio = ratios("firstOurs", "firstTheirs");
const rssRatio = ratios("rssOurs", "rssTheirs");
const met = (ok, value) => (Number.isFinite(value) ? ok : null);
emit({
	id: "top-cost",
	title: "2. `top` CPU and memory beside `perf top -F 99 -g`",
	method: `Both in 160x45 tmux panes at once, 99 Hz, every CPU busy with test/fixtures/ratio-burn, ${seconds} s per run; CPU time of each whole process tree from /proc (utime + stime of every process seen in it, read each second; a process that exits keeps its last reading), as % of one core, over ${FIRST[0]}–${FIRST[1]} s (first window) and ${STEADY[0]}–${STEADY[1]} s (steady window) after start; peak resident memory (sampled each second). Ratios per run, then medians of ${runs} runs.`,
	columns: ["run", `tsprof ${FIRST.join("–")} s`, `perf top ${FIRST.join("–")} s`, `tsprof ${STEADY.join("–")} s`, `perf top ${STEADY.join("–")} s`, "steady ratio", "tsprof MB", "perf top MB"],
	rows: [
		...rows.map((r) => [r.run, `${fmt(r.firstOurs, 2)}%`, `${fmt(r.firstTheirs, 2)}%`, `${fmt(r.steadyOurs, 2)}%`, `${fmt(r.steadyTheirs, 2)}%`, fmt(ratio(r.steadyOurs, r.steadyTheirs), 2), fmt(r.rssOurs, 0), fmt(r.rssTheirs, 0)]),
		["median", `${fmt(m("firstOurs"), 2)}%`, `${fmt(m("firstTheirs"), 2)}%`, `${fmt(m("steadyOurs"), 2)}%`, `${fmt(m("steadyTheirs"), 2)}%`, fmt(steadyRatio, 2), fmt(m("rssOurs"), 0), fmt(m("rssTheirs"), 0)],
	],
	targets: [
		{ what: `\`top\` CPU, steady (${STEADY.join("–")} s)`, target: `≤ ${TARGET_CPU}% of a core`, value: `${fmt(m("steadyOurs"), 2)}%`, met: met(m("steadyOurs") <= TARGET_CPU, m("steadyOurs")) },
		{ what: "`top` CPU, steady, / perf top -g", target: `≤ ${TARGET_RATIO}×`, value: `${fmt(steadyRatio, 2)}×`, met: met(steadyRatio <= TARGET_RATIO, steadyRatio) },
		{ what: `\`top\` CPU, first ${FIRST.join("–")} s, / perf top -g`, target: "—", value: `${fmt(m("firstOurs"), 2)}% vs ${fmt(m("firstTheirs"), 2)}%, ${fmt(firstRatio, 2)}×`, met: null },
		{ what: "`top` peak resident memory", target: `≤ ${TARGET_MB} MB`, value: `${fmt(m("rssOurs"), 0)} MB (perf top ${fmt(m("rssTheirs"), 0)} MB, ${fmt(rssRatio, 2)}×)`, met: met(m("rssOurs") <= TARGET_MB, m("rssOurs")) },
	],
	notes: [noPerf, ...rows.filter((r) => !r.alive).map((r) => `run ${r.run}: tsprof top was no longer running at the end`)].filter(Boolean),
});
