/**
 * `tsprof record` and `tsprof report` through the real CLI, on the real
 * kernel: what a user gets from a profile of a known workload.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
	assertOk,
	parseRecordSummary,
	reportFolded,
	reportJson,
	runCli,
	startRecord,
} from "../helpers/kernel-cli.js";
import { Scratch, waitForLines } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
let scratch: Scratch;
let ratio: string;
let brief: string;
let storm: string;

before(() => {
	if (skip) return;
	scratch = new Scratch("tsprof-record-");
	ratio = scratch.compile("ratio-burn");
	brief = scratch.compile("brief-burn");
	storm = scratch.compile("spawn-storm");
});
after(() => scratch?.cleanup());

const fn = (
	r: {
		functions: readonly {
			name: string;
			module: string;
			self: number;
			total: number;
		}[];
	},
	name: string,
) => r.functions.find((f) => f.name === name);

test("a system-wide recording names the 3:1 burners under their caller, the exe and kernel frames", {
	skip,
}, async () => {
	const burner = scratch.start(ratio, ["0"]);
	const pid = Number((await waitForLines(burner, 1))[0]);
	assert.equal(pid, burner.pid);
	const file = join(scratch.dir, "system.pb.gz");
	// Something that spends its time in the kernel, for kernel frames.
	const dd = spawn("dd", ["if=/dev/zero", "of=/dev/null", "bs=64k"], {
		stdio: "ignore",
	});
	try {
		const run = await startRecord(file, ["--duration", "4"]);
		setTimeout(() => dd.kill("SIGKILL"), 1000);
		const r = assertOk(await run.done, "tsprof record");

		// The summary line: samples, lost, processes, size, map cleanup.
		const summary = parseRecordSummary(r.stderr);
		assert.ok(summary, `a summary line on stderr, got: ${r.stderr}`);
		assert.equal(summary.file, file);
		assert.ok(summary.samples > 0, `samples > 0: ${r.stderr}`);
		assert.ok(summary.processes >= 2, `the burner, dd and more: ${r.stderr}`);
		assert.match(summary.size, /KiB|MiB/);
		assert.equal(summary.failures, 0);

		const all = await reportJson(file);
		assert.equal(
			all.samples,
			summary.samples,
			"the file holds every sample the summary counted",
		);
		assert.equal(all.lostSamples, summary.lost);
		assert.equal(all.frequencyHz, 99);
		assert.ok(
			all.durationMs >= 3500 && all.durationMs < 15_000,
			`durationMs ${all.durationMs}`,
		);
		const kernelFns = all.functions.filter(
			(f) => f.module === "[kernel]" && !f.name.startsWith("[unknown]"),
		);
		assert.ok(
			kernelFns.length > 0,
			"named kernel frames in the system-wide report",
		);
		assert.ok(
			all.processes.some((p) => p.pid === pid),
			"the burner is among the processes",
		);

		const mine = await reportJson(file, ["--pid", String(pid)]);
		assert.equal(mine.processes.length, 1);
		const p = mine.processes[0];
		assert.equal(p.pid, pid);
		assert.equal(p.comm, "ratio-burn");
		assert.equal(p.exe, ratio, "the exe path, exactly");
		assert.equal(mine.samples, p.samples);
		assert.ok(
			p.samples >= 100,
			`at 99 Hz for 4 s a process alone on a CPU gets ~400 samples, got ${p.samples}`,
		);

		const alpha = fn(mine, "ratio_alpha");
		const beta = fn(mine, "ratio_beta");
		const loop = fn(mine, "ratio_loop");
		assert.ok(
			alpha && beta && loop,
			`ratio_alpha, ratio_beta and ratio_loop named: ${JSON.stringify(mine.functions.slice(0, 8))}`,
		);
		assert.equal(alpha.module, ratio);
		assert.equal(beta.module, ratio);
		assert.equal(loop.module, ratio);
		assert.ok(
			loop.total >= 0.9 * p.samples,
			`the caller is in ${loop.total} of ${p.samples} stacks`,
		);
		const share = alpha.total / (alpha.total + beta.total);
		assert.ok(
			Math.abs(share - 0.75) <= 0.07,
			`alpha:beta is 3:1, got alpha share ${share.toFixed(3)} (${alpha.total}:${beta.total})`,
		);

		// The caller sits right above each burner in the stacks.
		const stacks = await reportFolded(file, ["--pid", String(pid)]);
		const under = (leaf: string) =>
			stacks
				.filter((s) => {
					const i = s.frames.lastIndexOf(leaf);
					return (
						i > 0 &&
						s.frames[i - 1] === "ratio_loop" &&
						s.frames.includes("main")
					);
				})
				.reduce((n, s) => n + s.count, 0);
		assert.ok(
			under("ratio_alpha") >= 0.95 * alpha.total,
			`main > ratio_loop > ratio_alpha in ${under("ratio_alpha")} of ${alpha.total}`,
		);
		assert.ok(
			under("ratio_beta") >= 0.95 * beta.total,
			`main > ratio_loop > ratio_beta in ${under("ratio_beta")} of ${beta.total}`,
		);
	} finally {
		dd.kill("SIGKILL");
		burner.child.kill("SIGKILL");
		await burner.exited;
	}
});

test("record --pid N records only that process", { skip }, async () => {
	const target = scratch.start(ratio, ["0"]);
	const other = scratch.start(ratio, ["0"]);
	try {
		await waitForLines(target, 1);
		await waitForLines(other, 1);
		const file = join(scratch.dir, "one.pb.gz");
		const r = assertOk(
			await runCli([
				"record",
				"-o",
				file,
				"--duration",
				"2",
				"--pid",
				String(target.pid),
			]),
			"tsprof record --pid",
		);
		const summary = parseRecordSummary(r.stderr);
		assert.ok(summary, `a summary line on stderr, got: ${r.stderr}`);
		assert.equal(summary.processes, 1, r.stderr);

		const all = await reportJson(file);
		assert.deepEqual(
			all.processes.map((p) => p.pid),
			[target.pid],
			"only the chosen process, though another copy of it burned beside it",
		);
		assert.ok(
			all.processes[0].samples >= 20,
			`samples of the process: ${all.processes[0].samples}`,
		);
		assert.equal(all.samples, all.processes[0].samples);
		assert.equal(all.samples, summary.samples);
		assert.ok(fn(all, "ratio_alpha"), "its functions are named");
	} finally {
		target.child.kill("SIGKILL");
		other.child.kill("SIGKILL");
		await Promise.all([target.exited, other.exited]);
	}
});

test("record --pid of a parent includes the children it forks and execs", {
	skip,
}, async () => {
	const children = 12;
	// Each child burns 60 ms of CPU time in brief_burn_xyz: ~6 samples at 99 Hz.
	const parent = scratch.start(storm, [
		"-w",
		String(children),
		"1",
		brief,
		"60",
	]);
	await waitForLines(parent, 1);
	const file = join(scratch.dir, "family.pb.gz");
	const run = await startRecord(file, ["--pid", String(parent.pid)]);
	parent.child.stdin?.end("go\n");
	const end = await parent.exited;
	// Until SIGINT: record drains one last time, then writes the file.
	run.child.kill("SIGINT");
	assert.equal(end.code, 0, "every child ran to its end");
	const r = assertOk(await run.done, "tsprof record --pid");
	assert.ok(
		parseRecordSummary(r.stderr),
		`a summary line after SIGINT: ${r.stderr}`,
	);

	const childPids = parent.lines.slice(1).map(Number);
	assert.equal(childPids.length, children);
	const family = new Set([parent.pid, ...childPids]);
	const all = await reportJson(file);
	for (const p of all.processes)
		assert.ok(
			family.has(p.pid),
			`pid ${p.pid} (${p.comm}) is the parent or one of its children`,
		);

	const sampled = all.processes.filter((p) => childPids.includes(p.pid));
	assert.ok(
		sampled.length >= children - 1,
		`children with samples: ${sampled.length} of ${children}`,
	);
	for (const p of sampled) {
		assert.equal(p.comm, "brief-burn");
		assert.equal(p.exe, brief);
	}
	const childSamples = sampled.reduce((n, p) => n + p.samples, 0);
	assert.ok(
		childSamples >= children * 3,
		`the children's samples: ${childSamples}`,
	);
	const burn = fn(all, "brief_burn_xyz");
	assert.ok(burn, "the children's function is named");
	assert.equal(burn.module, brief);
	assert.ok(
		burn.total >= 0.8 * childSamples,
		`brief_burn_xyz in ${burn.total} of the children's ${childSamples} samples`,
	);
});
