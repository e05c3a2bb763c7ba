#!/usr/bin/env node
// Figures 3 and 8, from the same recordings: `tsprof record` for N seconds
// beside `perf record -g -a -F 99 -B` (-B: see the method text at the end) of the same N seconds, both at once on a
// machine kept busy on every CPU, each followed by its report (`tsprof
// report`, `perf report --stdio`).
//   3. CPU time of the whole job of producing named functions: record plus
//      report, every thread and waited-for child included.
//   8. Bytes per sample of each file (the recording's size / its samples).
//
// Usage: node bench/record-vs-perf.mjs [--runs 3] [--seconds 10]   (root, after npm install;
//        BENCH_QUICK=1 for a short check that it runs)
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { armed, burners, cli, emit, recordSummary, fmt, median, missing, pick, ratio, requireSetup, say, sleep, stopBurners, tempDir, timed } from "./lib.mjs";

const { values: args } = parseArgs({
	options: { runs: { type: "string", default: String(pick(3, 1)) }, seconds: { type: "string", default: String(pick(10, 3)) } },
});
const runs = Number(args.runs);
const seconds = Number(args.seconds);
requireSetup();
const noPerf = missing("perf");
const dir = tempDir();
const busy = burners(dir);
await sleep(1000);

const rows = [];
const notes = [noPerf].filter(Boolean);
for (let r = 1; r <= runs; r++) {
	const ours = `${dir}/t${r}.pb.gz`;
	const theirs = `${dir}/perf${r}.data`;
	// perf first, then tsprof once its program runs: perf 6.1 here often
	// aborts reading a recording in which tsprof started (util/build-id.c).
	const recording = timed(cli, ["record", "-o", ours, "--duration", String(seconds)]);
	await armed(recording.child);
	const [rec, prec] = await Promise.all([
		recording,
		noPerf ? undefined : timed("perf", ["record", "-g", "-a", "-F", "99", "-B", "-o", theirs, "--", "sleep", String(seconds)]),
	]);
	const summary = recordSummary(rec.stderr);
	if (rec.code !== 0 || !summary) throw new Error(`tsprof record failed: ${rec.stderr.trim()}`);
	const rep = await timed(cli, ["report", ours]);
	const row = { run: r, recordS: rec.cpuS, reportS: rep.cpuS, samples: summary.samples, bytes: statSync(ours).size };
	if (prec) {
		const prep = prec.code === 0 ? await timed("perf", ["report", "-i", theirs, "--stdio"]) : prec;
		// One line per sample (no call chains: only the pid is asked for).
		const script = prep.code === 0 ? await timed("perf", ["script", "-i", theirs, "-F", "pid"]) : prep;
		if (script.code === 0) {
			row.perfRecordS = prec.cpuS;
			row.perfReportS = prep.cpuS;
			row.perfSamples = script.stdout.split("\n").filter((l) => l.trim()).length;
			row.perfBytes = statSync(theirs).size;
		} else {
			// perf 6.1 aborts on some system-wide recordings (assertions in util/build-id.c).
			notes.push(`run ${r}: perf failed (exit ${script.code}): ${script.stderr.trim().split("\n").at(-1)}`);
		}
	}
	row.jobRatio = ratio(row.recordS + row.reportS, row.perfRecordS + row.perfReportS);
	row.bps = row.bytes / row.samples;
	row.perfBps = row.perfBytes / row.perfSamples;
	row.bpsRatio = ratio(row.bps, row.perfBps);
	rows.push(row);
	say(
		`run ${r}: tsprof record ${fmt(row.recordS, 2)} s + report ${fmt(row.reportS, 2)} s CPU, perf record ${fmt(row.perfRecordS, 2)} s + report ${fmt(row.perfReportS, 2)} s (ratio ${fmt(row.jobRatio, 2)}); bytes/sample tsprof ${fmt(row.bps, 0)} (${row.samples} samples), perf ${fmt(row.perfBps, 0)} (${row.perfSamples ?? "—"} samples)`,
	);
}
await stopBurners(busy);

const m = (key) => median(rows.map((r) => r[key]).filter(Number.isFinite));
const common = `both at once for ${seconds} s, 99 Hz, every CPU, every CPU busy with test/fixtures/ratio-burn; medians of ${runs} runs, ratios per run`;
emit({
	id: "record-cost",
	title: "3. `record` beside `perf record -g` + `perf report`",
	method: `CPU time (user + system, every thread and waited-for child) of \`tsprof record --duration ${seconds}\` then \`tsprof report\`, and of \`perf record -g -a -F 99 -B -- sleep ${seconds}\` then \`perf report --stdio\`, perf started once tsprof samples; ${common}. perf 6.1 here aborts (assertions in util/build-id.c, then stack smashing) when it collects build-ids at the end of a system-wide recording, and often when it reads one in which tsprof (node) started: hence \`-B\`, which makes perf's job cheaper, not dearer, and the order.`,
	columns: ["run", "tsprof record s", "tsprof report s", "perf record s", "perf report s", "job ratio"],
	rows: [
		...rows.map((r) => [r.run, fmt(r.recordS, 2), fmt(r.reportS, 2), fmt(r.perfRecordS, 2), fmt(r.perfReportS, 2), fmt(r.jobRatio, 2)]),
		["median", fmt(m("recordS"), 2), fmt(m("reportS"), 2), fmt(m("perfRecordS"), 2), fmt(m("perfReportS"), 2), fmt(m("jobRatio"), 2)],
	],
	targets: [{ what: "CPU of record + report, tsprof / perf", target: "—", value: `${fmt(m("jobRatio"), 2)}×`, met: null }],
	notes,
});
emit({
	id: "bytes-per-sample",
	title: "8. Bytes per sample of a recording",
	method: `The file's size over its samples (tsprof: record's summary line; perf: lines of \`perf script -F pid\`), of the recordings of figure 3: ${common}.`,
	columns: ["run", "tsprof samples", "tsprof bytes", "tsprof B/sample", "perf samples", "perf.data bytes", "perf B/sample", "ratio"],
	rows: [
		...rows.map((r) => [r.run, r.samples, r.bytes, fmt(r.bps, 0), r.perfSamples ?? "—", r.perfBytes ?? "—", fmt(r.perfBps, 0), fmt(r.bpsRatio, 3)]),
		["median", "", "", fmt(m("bps"), 0), "", "", fmt(m("perfBps"), 0), fmt(m("bpsRatio"), 3)],
	],
	targets: [{ what: "bytes per sample, tsprof / perf.data", target: "—", value: `${fmt(m("bps"), 0)} B vs ${fmt(m("perfBps"), 0)} B, ${fmt(m("bpsRatio"), 3)}×`, met: null }],
	notes,
});
