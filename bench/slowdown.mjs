#!/usr/bin/env node
// Figure 9: how much a profiler at 999 Hz slows a CPU-bound workload. One
// copy of bench/workloads/loop.c per CPU runs for N seconds and counts the
// units of work it finished: with no profiler, with `tsprof record -F 999`,
// with `perf record -g -a -F 999` and with bpftrace
// `profile:hz:999 { @[kstack, ustack] = count(); }`, each started (and
// sampling) before the workload and stopped after it. Each run measures all
// conditions in a rotated order; the slowdown is against that run's own
// throughput without a profiler.
//
// Usage: node bench/slowdown.mjs [--runs 3] [--seconds 3]   (root, after npm install;
//        BENCH_QUICK=1 for a short check that it runs)
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { armed, cli, compile, emit, fmt, median, missing, pick, requireSetup, say, sleep, start, stop, tempDir } from "./lib.mjs";

const { values: args } = parseArgs({
	options: { runs: { type: "string", default: String(pick(3, 1)) }, seconds: { type: "string", default: String(pick(3, 2)) } },
});
const runs = Number(args.runs);
const seconds = Number(args.seconds);
requireSetup();
const cpus = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
const dir = tempDir();
const loop = compile("bench/workloads/loop.c", dir, ["-O1", "-fno-omit-frame-pointer"]);
const noPerf = missing("perf");
const noBpftrace = missing("bpftrace");

/** Each profiler's start-up (symbol tables, its first drains, JIT warm-up) is not the steady cost measured here. */
const SETTLE_MS = 5000;

const conditions = [
	{ name: "none", start: async () => undefined },
	{
		name: "tsprof record -F 999",
		start: async () => {
			const c = start(cli, ["record", "-F", "999", "-o", `${dir}/w.pb.gz`]);
			await armed(c);
			return c;
		},
	},
	noPerf
		? undefined
		: {
				name: "perf record -g -a -F 999",
				start: async () => {
					const c = start("perf", ["record", "-g", "-a", "-F", "999", "-B", "-o", `${dir}/w.data`]);
					// perf holds no BPF program to watch; give it time to open its events.
					await sleep(2000);
					return c;
				},
			},
	noBpftrace
		? undefined
		: {
				name: "bpftrace profile:hz:999",
				start: async () => {
					const c = start("bpftrace", ["-e", "profile:hz:999 { @[kstack, ustack] = count(); }"]);
					await armed(c);
					return c;
				},
				// It symbolizes every stack at exit, which takes minutes.
				signal: "SIGKILL",
			},
].filter(Boolean);

/** Units of work per second of all copies of the loop together. */
async function throughput() {
	const copies = Array.from({ length: cpus }, () => start(loop, [String(seconds)], { capture: true }));
	const results = await Promise.all(copies.map((c) => c.done));
	return results.reduce((n, r) => n + Number(r.stdout.trim()), 0) / seconds;
}

const results = conditions.map(() => []);
for (let r = 0; r < runs; r++) {
	for (let k = 0; k < conditions.length; k++) {
		const i = (k + r) % conditions.length;
		const condition = conditions[i];
		const profiler = await condition.start();
		if (profiler) await sleep(SETTLE_MS);
		const rate = await throughput();
		if (profiler) await stop(profiler, condition.signal ?? "SIGINT");
		results[i][r] = rate;
		say(`run ${r + 1}: ${condition.name}: ${fmt(rate, 0)} units/s`);
		await sleep(500);
	}
}

const slowdown = (i, r) => (1 - results[i][r] / results[0][r]) * 100;
const rows = conditions.map((c, i) => {
	const perRun = results[i].map((_, r) => slowdown(i, r));
	return [c.name, results[i].map((x) => fmt(x, 0)).join(", "), fmt(median(results[i]), 0), i === 0 ? "—" : `${fmt(median(perRun), 2)}%`];
});
const ourIndex = conditions.findIndex((c) => c.name.startsWith("tsprof"));
const peerText = conditions
	.map((c, i) => (i > 1 ? `${c.name.split(" ")[0]} ${fmt(median(results[i].map((_, r) => slowdown(i, r))), 2)}%` : undefined))
	.filter(Boolean)
	.join(", ");
emit({
	id: "slowdown",
	title: "9. Workload slowdown at 999 Hz",
	method: `${cpus} copies (one per CPU) of bench/workloads/loop.c for ${seconds} s each, counting units of work; with no profiler and with each profiler at 999 Hz on every CPU, started and sampling ${SETTLE_MS / 1000} s before the workload (perf ${SETTLE_MS / 1000 + 2} s, as it holds no BPF program to watch; bpf_stats on, as the BPF tools are watched through it); conditions in a rotated order in each run, slowdown against the same run's throughput with none; medians of ${runs} runs.`,
	columns: ["profiler", "units/s per run", "median units/s", "median slowdown"],
	rows,
	targets: [
		{
			what: "slowdown of a CPU-bound workload at 999 Hz",
			target: "—",
			value: `tsprof ${fmt(median(results[ourIndex].map((_, r) => slowdown(ourIndex, r))), 2)}%${peerText ? `, ${peerText}` : ""}`,
			met: null,
		},
	],
	notes: [noPerf, noBpftrace].filter(Boolean),
});
