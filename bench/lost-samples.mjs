#!/usr/bin/env node
// Figure 4: samples lost by `tsprof record` at 99, 999 and 4999 Hz on every
// CPU, every CPU busy with a burner, from record's summary line
// ("N samples, M lost").
//
// Usage: node bench/lost-samples.mjs [--runs 3] [--seconds 4] [--hz 99,999,4999]
//        (root, after npm install; BENCH_QUICK=1 for a short check that it runs)
import { parseArgs } from "node:util";
import { burners, cli, emit, fmt, median, pick, recordSummary, requireSetup, runWatched, say, sleep, stopBurners, tempDir } from "./lib.mjs";

const { values: args } = parseArgs({
	options: {
		runs: { type: "string", default: String(pick(3, 1)) },
		seconds: { type: "string", default: String(pick(4, 2)) },
		hz: { type: "string", default: "99,999,4999" },
	},
});
const runs = Number(args.runs);
const seconds = Number(args.seconds);
const rates = args.hz.split(",").map(Number);
requireSetup();
const dir = tempDir();
const busy = burners(dir);
await sleep(1000);

const notes = [];
const results = new Map(rates.map((hz) => [hz, []]));
for (let r = 1; r <= runs; r++) {
	for (const hz of rates) {
		const deadlineS = 2 * seconds + 15;
		const t0 = performance.now();
		const { code, stderr, killedFor } = await runWatched(cli, ["record", "-F", String(hz), "-o", `${dir}/l.pb.gz`, "--duration", String(seconds)], { deadlineS });
		const wallS = (performance.now() - t0) / 1000;
		const summary = recordSummary(stderr);
		if (killedFor) {
			notes.push(`run ${r}, ${hz} Hz: \`record --duration ${seconds}\` did not end by itself: ${killedFor}`);
			results.get(hz).push({ samples: Number.NaN, lost: Number.NaN, wallS });
			say(`run ${r}, ${hz} Hz: ${killedFor}`);
			continue;
		}
		if (code !== 0 || !summary) throw new Error(`record -F ${hz} failed: ${stderr.trim()}`);
		results.get(hz).push({ ...summary, wallS });
		say(`run ${r}, ${hz} Hz: ${summary.samples} samples, ${summary.lost} lost, ${fmt(wallS, 1)} s from start to exit`);
	}
}
await stopBurners(busy);

const shown = (n) => (Number.isFinite(n) ? n : "killed");
const share = (s) => (s.lost / Math.max(1, s.samples + s.lost)) * 100;
const at999 = results.get(999);
emit({
	id: "lost-samples",
	title: "4. Lost samples",
	method: `\`tsprof record -F HZ --duration ${seconds}\` on every CPU, every CPU busy with test/fixtures/ratio-burn; the counts of record's summary line; ${runs} runs per rate, rates interleaved. No peer: perf and bpftrace count losses differently.`,
	columns: ["Hz", "samples per run", "lost per run", "median lost", "median lost %", "start to exit, s"],
	rows: rates.map((hz) => {
		const list = results.get(hz);
		return [hz, list.map((s) => shown(s.samples)).join(", "), list.map((s) => shown(s.lost)).join(", "), fmt(median(list.map((s) => s.lost).filter(Number.isFinite)), 0), `${fmt(median(list.map(share).filter(Number.isFinite)), 3)}%`, list.map((s) => fmt(s.wallS, 1)).join(", ")];
	}),
	targets: at999
		? [{ what: "samples lost at 999 Hz on every CPU", target: "0 in every run", value: at999.map((s) => (Number.isFinite(s.lost) ? `${s.lost} of ${s.samples + s.lost}` : "killed")).join("; "), met: at999.every((s) => s.lost === 0) }, { what: `\`record --duration ${seconds}\` ends on time at every rate`, target: "—", value: `longest ${fmt(Math.max(...[...results.values()].flat().map((s) => s.wallS)), 1)} s from start to exit`, met: null }]
		: [],
	notes,
});
