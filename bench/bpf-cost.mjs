#!/usr/bin/env node
// Figure 1: the kernel-side cost per sample of tsprof's perf_event program
// beside bpftrace's `profile:hz:99 { @[kstack, ustack] = count(); }`, both
// running at once on a machine kept busy on every CPU, from bpf_stats
// (run_time_ns / run_cnt of the programs each process holds). Both fire on
// the same CPUs and whichever starts second finds warm caches, so the start
// order alternates between runs. Then the off-CPU program's cost per context
// switch (on_switch, `record --off-cpu`), alone.
//
// Usage: node bench/bpf-cost.mjs [--runs 3] [--seconds 8]   (root, after npm install;
//        BENCH_QUICK=1 for a short check that it runs)
import { parseArgs } from "node:util";
import {
	PROG_PERF_EVENT,
	armed,
	bpfPrograms,
	burners,
	cli,
	emit,
	enableBpfStats,
	fmt,
	median,
	missing,
	pick,
	ratio,
	requireSetup,
	say,
	sleep,
	start,
	stop,
	stopBurners,
	tempDir,
} from "./lib.mjs";

const { values: args } = parseArgs({
	options: { runs: { type: "string", default: String(pick(3, 2)) }, seconds: { type: "string", default: String(pick(8, 2)) } },
});
const runs = Number(args.runs);
const seconds = Number(args.seconds);
requireSetup();
const TARGET = 0.5;
const noBpftrace = missing("bpftrace");
const dir = tempDir();
enableBpfStats();
const busy = burners(dir);

const perSample = (prog) => (prog && prog.runCnt > 0 ? prog.runTimeNs / prog.runCnt : Number.NaN);
const cpuClock = (p) => p.type === PROG_PERF_EVENT;

const rows = [];
for (let r = 1; r <= runs; r++) {
	const startOurs = () => start(cli, ["record", "-o", `${dir}/r.pb.gz`, "--duration", String(seconds + 30)]);
	const startTheirs = () => (noBpftrace ? undefined : start("bpftrace", ["-e", "profile:hz:99 { @[kstack, ustack] = count(); }"]));
	let ours;
	let theirs;
	const oursFirst = r % 2 === 1;
	if (oursFirst) {
		ours = startOurs();
		await armed(ours);
		theirs = startTheirs();
	} else {
		theirs = startTheirs();
		if (theirs) await armed(theirs);
		ours = startOurs();
	}
	await Promise.all([armed(ours), theirs && armed(theirs)]);
	await sleep(seconds * 1000);
	const o = bpfPrograms(ours.pid).find(cpuClock);
	const t = theirs ? bpfPrograms(theirs.pid).find(cpuClock) : undefined;
	await stop(ours, "SIGINT");
	// bpftrace symbolizes every stack when it exits, which takes minutes: not measured.
	if (theirs) await stop(theirs, "SIGKILL");
	const row = { run: r, first: oursFirst ? "tsprof" : "bpftrace", ours: perSample(o), theirs: perSample(t), oursRuns: o?.runCnt ?? 0, theirsRuns: t?.runCnt ?? 0 };
	row.ratio = ratio(row.ours, row.theirs);
	rows.push(row);
	say(`run ${r} (${row.first} first): tsprof ${fmt(row.ours, 0)} ns/sample over ${row.oursRuns}, bpftrace ${fmt(row.theirs, 0)} ns/sample over ${row.theirsRuns}, ratio ${fmt(row.ratio, 3)}`);
	await sleep(1000);
}

// Off-CPU: the sched_switch program's cost per switch, alone (no peer).
const switches = [];
const offRuns = runs;
const offSeconds = Math.max(2, Math.round(seconds / 2));
for (let r = 1; r <= offRuns; r++) {
	const rec = start(cli, ["record", "--off-cpu", "-o", `${dir}/o.pb.gz`, "--duration", String(offSeconds + 30)]);
	const onSwitch = (p) => p.name === "on_switch";
	await armed(rec, undefined, onSwitch);
	await sleep(offSeconds * 1000);
	const prog = bpfPrograms(rec.pid).find(onSwitch);
	await stop(rec, "SIGINT");
	switches.push({ ns: perSample(prog), count: prog?.runCnt ?? 0 });
	say(`off-CPU run ${r}: on_switch ${fmt(perSample(prog), 0)} ns/switch over ${prog?.runCnt ?? 0} switches`);
}
await stopBurners(busy);

const valid = (xs) => xs.filter((x) => Number.isFinite(x));
const mOurs = median(valid(rows.map((r) => r.ours)));
const mTheirs = median(valid(rows.map((r) => r.theirs)));
const mRatio = median(valid(rows.map((r) => r.ratio)));
const mSwitch = median(valid(switches.map((s) => s.ns)));
say(`median: tsprof ${fmt(mOurs, 0)} ns, bpftrace ${fmt(mTheirs, 0)} ns, ratio ${fmt(mRatio, 3)} (${runs} runs); on_switch ${fmt(mSwitch, 0)} ns`);
emit({
	id: "bpf-cost",
	title: "1. BPF cost per sample",
	method: `bpf_stats (run_time_ns / run_cnt) of the perf_event program each tool holds, both at 99 Hz at once, every CPU busy with test/fixtures/ratio-burn; ${seconds} s per run after both fired, start order alternating; ratio per run, then the median of ${runs} runs. Off-CPU: on_switch of \`record --off-cpu\` alone, ${offSeconds} s per run.`,
	columns: ["run", "started first", "tsprof ns/sample", "bpftrace ns/sample", "ratio"],
	rows: [
		...rows.map((r) => [r.run, r.first, fmt(r.ours, 0), fmt(r.theirs, 0), fmt(r.ratio, 3)]),
		["median", "", fmt(mOurs, 0), fmt(mTheirs, 0), fmt(mRatio, 3)],
	],
	targets: [
		{ what: "BPF cost per sample, tsprof / bpftrace", target: `≤ ${TARGET}×`, value: `${fmt(mRatio, 2)}× (${fmt(mOurs / 1000, 2)} µs vs ${fmt(mTheirs / 1000, 2)} µs)`, met: Number.isFinite(mRatio) ? mRatio <= TARGET : null },
		{ what: "off-CPU program (on_switch) per context switch", target: "—", value: `${fmt(mSwitch / 1000, 2)} µs (median of ${switches.length}, ${switches.map((s) => s.count).join(", ")} switches)`, met: null },
	],
	notes: [noBpftrace].filter(Boolean),
});
