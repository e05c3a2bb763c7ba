#!/usr/bin/env node
// Figure 5: time from start to the first full frame (header, rows and
// footer drawn) of `tsprof top` and of `perf top -F 99 -g`, each in a
// 160x45 tmux pane, one after the other in each run, every CPU busy with a
// burner. The pane is read every 20 ms.
//
// Usage: node bench/first-frame.mjs [--runs 3]   (root, after npm install;
//        BENCH_QUICK=1 for a short check that it runs)
import { parseArgs } from "node:util";
import { burners, cli, emit, fmt, median, missing, pick, ratio, requireSetup, say, sleep, stopBurners, tempDir, tmuxSession } from "./lib.mjs";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: String(pick(3, 1)) } } });
const runs = Number(args.runs);
requireSetup();
const noTmux = missing("tmux");
if (noTmux) {
	emit({ id: "first-frame", title: "5. First full frame of `top`", columns: [], rows: [], targets: [], notes: [noTmux] });
	process.exit(0);
}
const noPerf = missing("perf");
const TARGET_MS = 500;
const TIMEOUT_MS = 15_000;
const dir = tempDir();
const busy = burners(dir);
await sleep(1000);

/** ms until every pattern is on the pane, or NaN after TIMEOUT_MS. */
async function firstFrame(name, command, patterns) {
	const t0 = performance.now();
	const pane = tmuxSession(name, command);
	let ms = Number.NaN;
	while (performance.now() - t0 < TIMEOUT_MS) {
		const text = pane.capture();
		if (patterns.every((p) => p.test(text))) {
			ms = performance.now() - t0;
			break;
		}
		await sleep(20);
	}
	pane.kill();
	await sleep(1000);
	return ms;
}

const rows = [];
for (let r = 1; r <= runs; r++) {
	const tag = `${process.pid}-${r}`;
	const ours = await firstFrame(`tsprof-bench-ff-${tag}`, `${cli} top`, [/q quit/, /[0-9]+\.[0-9]+ +[0-9]+\.[0-9]+/]);
	const theirs = noPerf ? Number.NaN : await firstFrame(`tsprof-bench-ffp-${tag}`, "perf top -F 99 -g", [/Samples/, /[0-9]+\.[0-9]+%/]);
	rows.push({ run: r, ours, theirs, ratio: ratio(ours, theirs) });
	say(`run ${r}: tsprof top ${fmt(ours, 0)} ms, perf top -g ${fmt(theirs, 0)} ms`);
}
await stopBurners(busy);

const m = (key) => median(rows.map((r) => r[key]).filter(Number.isFinite));
emit({
	id: "first-frame",
	title: "5. First full frame of `top`, beside `perf top -F 99 -g`",
	method: `Time from starting each in a 160x45 tmux pane until the pane shows a full frame (tsprof: the footer's "q quit" and a row of figures; perf top: "Samples" and a percentage), read every 20 ms; every CPU busy with test/fixtures/ratio-burn; one of each per run, medians of ${runs} runs (a run that never drew within ${TIMEOUT_MS / 1000} s counts as missing).`,
	columns: ["run", "tsprof top ms", "perf top -g ms", "ratio"],
	rows: [...rows.map((r) => [r.run, fmt(r.ours, 0), fmt(r.theirs, 0), fmt(r.ratio, 2)]), ["median", fmt(m("ours"), 0), fmt(m("theirs"), 0), fmt(m("ratio"), 2)]],
	targets: [{ what: "first full frame of `top`, busy machine", target: `< ${TARGET_MS / 1000} s`, value: `${fmt(m("ours") / 1000, 2)} s (perf top ${fmt(m("theirs") / 1000, 2)} s)`, met: Number.isFinite(m("ours")) ? m("ours") < TARGET_MS : null }],
	notes: [noPerf, ...rows.filter((r) => !Number.isFinite(r.ours)).map((r) => `run ${r.run}: tsprof top drew no full frame within ${TIMEOUT_MS / 1000} s`)].filter(Boolean),
});
