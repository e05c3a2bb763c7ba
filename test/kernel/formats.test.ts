/**
 * A real recording of the 3:1 fixture through every export, read back the
 * way its consumers read it; go tool pprof on the file; and the file's
 * fate when the recorder is stopped, killed, or runs out of disk.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Ajv } from "ajv";
import { decodeProfile } from "../../source/output/pprof.js";
import { assertOk, type CliResult, type CliRun, reportJson, runCli, startRecord } from "../helpers/kernel-cli.js";
import { Scratch, sleep, waitFor, waitForLines } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
const hasGo = spawnSync("go", ["version"]).status === 0;
const hasXmllint = spawnSync("xmllint", ["--version"]).status === 0;
let scratch: Scratch;
let file: string;
let pid: number;

before(async () => {
	if (skip) return;
	scratch = new Scratch("tsprof-formats-");
	const burner = scratch.start(scratch.compile("ratio-burn"), ["0"]);
	pid = Number((await waitForLines(burner, 1))[0]);
	file = join(scratch.dir, "f.pb.gz");
	const run = await startRecord(file, ["--duration", "3"]);
	assertOk(await run.done, "tsprof record");
});
after(() => scratch?.cleanup());

/** CPU seconds the process has used (utime + stime; clock ticks are 1/100 s). */
function cpuSeconds(p: number): number {
	const fields = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
	return (Number(fields[11]) + Number(fields[12])) / 100;
}

const report = async (...args: string[]) => assertOk(await runCli(["report", file, "--pid", String(pid), ...args]), `report ${args.join(" ")}`).stdout;

test("--folded: flamegraph.pl's grammar, ratio_alpha 3:1 against ratio_beta under ratio_loop", { skip }, async () => {
	const lines = (await report("--folded")).trimEnd().split("\n");
	let alpha = 0;
	let beta = 0;
	for (const line of lines) {
		assert.match(line, /^[^;\n]+(;[^;\n]+)* [0-9]+$/);
		const n = Number(line.slice(line.lastIndexOf(" ") + 1));
		if (/;ratio_loop;ratio_alpha( [0-9]+$|;)/.test(line)) alpha += n;
		if (/;ratio_loop;ratio_beta( [0-9]+$|;)/.test(line)) beta += n;
	}
	// The machine is shared: the burner gets what CPU it can.
	assert.ok(alpha + beta > 30, `${alpha} + ${beta} samples`);
	const share = alpha / (alpha + beta);
	assert.ok(share > 0.65 && share < 0.85, `ratio_alpha's share ${share}`);
});

test("--svg: well-formed XML naming the burners with their share", { skip: skip || (!hasXmllint && "xmllint is not installed") }, async () => {
	const svg = await report("--svg");
	const r = spawnSync("xmllint", ["--noout", "-"], { input: svg, encoding: "utf8" });
	assert.equal(r.status, 0, r.stderr);
	const titles = spawnSync("xmllint", ["--xpath", "//*[local-name()='title']/text()", "-"], { input: svg, encoding: "utf8" }).stdout;
	const pct = (name: string) => Number(new RegExp(`${name} \\([^)]*\\)\\n\\d+ samples, ([0-9.]+)%`).exec(titles)?.[1]);
	assert.ok(pct("ratio_alpha") > 60 && pct("ratio_alpha") < 85, `ratio_alpha ${pct("ratio_alpha")}%`);
	assert.ok(pct("ratio_beta") > 15 && pct("ratio_beta") < 35, `ratio_beta ${pct("ratio_beta")}%`);
});

test("--speedscope: valid against the package's schema, one profile for the burner", { skip }, async () => {
	const doc = JSON.parse(await report("--speedscope")) as {
		profiles: { name: string; samples: number[][]; weights: number[] }[];
		shared: { frames: { name: string }[] };
	};
	const schema = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("speedscope/dist/release/file-format-schema.json"), "utf8"));
	const validate = new Ajv({ strict: false }).compile(schema);
	assert.ok(validate(structuredClone(doc)), JSON.stringify(validate.errors));
	assert.equal(doc.profiles.length, 1);
	const [only] = doc.profiles;
	assert.ok(only);
	assert.match(only.name, new RegExp(`^ratio-burn \\(pid ${pid}\\)$`));
	const names: string[] = doc.shared.frames.map((f: { name: string }) => f.name);
	const leafWeight = (leaf: string) =>
		only.samples.reduce((n, s, i) => (names[s[s.length - 1] as number] === leaf ? n + (only.weights[i] as number) : n), 0);
	const ratio = leafWeight("ratio_alpha") / leafWeight("ratio_beta");
	assert.ok(ratio > 2 && ratio < 4.5, `alpha/beta ${ratio}`);
});

test("go tool pprof: -raw shows both sample types and the period, -traces the labels and stacks", { skip: skip || (!hasGo && "go is not installed (apt-get install golang-go)") }, () => {
	const raw = execFileSync("go", ["tool", "pprof", "-raw", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
	assert.match(raw, /^PeriodType: cpu nanoseconds$/m);
	assert.match(raw, /^Period: 10101010$/m);
	assert.match(raw, /^Duration: \d+\.\d+$/m);
	assert.match(raw, /^samples\/count cpu\/nanoseconds$/m);
	// Every sample's CPU time is its count times the period.
	for (const m of raw.matchAll(/^ +(\d+) +(\d+): /gm)) assert.equal(Number(m[2]), Number(m[1]) * 10101010);
	const traces = execFileSync("go", ["tool", "pprof", "-traces", `-tagfocus=pid=${pid}`, file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
	assert.match(traces, /comm: +ratio-burn/);
	assert.match(traces, /ratio_alpha\n +ratio_loop\n +main/);
});

test("SIGTERM: the file is complete and compacted; SIGKILL: the file on disk opens, missing at most the last seconds", { skip }, async () => {
	const term = join(scratch.dir, "term.pb.gz");
	const run = await startRecord(term, []);
	await sleep(3000);
	run.child.kill("SIGTERM");
	const r = assertOk(await run.done, "record until SIGTERM");
	assert.match(r.stderr, /tsprof: wrote .*term\.pb\.gz: \d+ samples/);
	const all = await reportJson(term, ["--pid", String(pid)]);
	// The machine is shared: count against the CPU the burner got.
	assert.ok(all.samples > 50, `${all.samples} samples of the burner in 3 s`);

	const killed = join(scratch.dir, "kill.pb.gz");
	const k = await startRecord(killed, []);
	const armedAt = Date.now();
	const cpu0 = cpuSeconds(pid);
	await sleep(8000);
	k.child.kill("SIGKILL");
	await k.done;
	const elapsed = (Date.now() - armedAt) / 1000;
	const cpuPerSecond = (cpuSeconds(pid) - cpu0) / elapsed;
	const got = (await reportJson(killed, ["--pid", String(pid)])).samples;
	// 99 samples per CPU second of the burner; at most 5 s of them may be missing.
	const bar = (elapsed - 5) * cpuPerSecond * 99 * 0.8;
	assert.ok(got >= bar, `${got} samples after ${elapsed.toFixed(1)} s at ${cpuPerSecond.toFixed(2)} CPU (bar ${bar.toFixed(0)})`);
});

test("a full disk: one error line, and the samples go to a file in the temp dir", { skip }, async () => {
	const mnt = scratch.mkdir("tmpfs-");
	execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]);
	try {
		const out = join(mnt, "full.pb.gz");
		const run = await startRecord(out, ["--duration", "30"]);
		// Once the header is on disk (the file exists a moment before it),
		// take every byte left, so the next checkpoint cannot fit however
		// small the machine's stacks encode.
		await waitFor("the recording's header", () => statSync(out).size > 0, 10_000);
		fillDisk(join(mnt, "filler"));
		const r = await withTimeout(run, 30_000);
		assert.notEqual(r.code, 0, r.stderr);
		const lines = r.stderr.split("\n").filter((l) => l.startsWith("tsprof:"));
		assert.equal(lines.length, 1, r.stderr);
		const m = /^tsprof: cannot write .*full\.pb\.gz: no space left on device; the (\d+) samples recorded are in (\S+)$/.exec(lines[0] as string);
		assert.ok(m, lines[0]);
		const rescued = m[2] as string;
		try {
			const p = decodeProfile(readFileSync(rescued));
			assert.equal(p.samples.reduce((n, s) => n + s.value, 0), Number(m[1]));
			assert.ok(Number(m[1]) > 0, "the rescued file holds the samples");
		} finally {
			rmSync(rescued, { force: true });
		}
		// What is on the full disk is still a valid profile (the torn append was cut off).
		if (existsSync(out)) decodeProfile(readFileSync(out));
	} finally {
		execFileSync("umount", [mnt]);
	}
});

/** Writes to `path` until the file system says it is full. */
function fillDisk(path: string): void {
	const fd = openSync(path, "w");
	const page = Buffer.alloc(512, 1);
	try {
		for (;;) writeSync(fd, page);
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
	} finally {
		closeSync(fd);
	}
}

/** The run's result, or SIGKILL after `ms`. */
async function withTimeout(run: CliRun, ms: number): Promise<CliResult> {
	const timer = setTimeout(() => run.child.kill("SIGKILL"), ms);
	try {
		return await run.done;
	} finally {
		clearTimeout(timer);
	}
}

test("an unwritable path: one error line before sampling", { skip }, async () => {
	const r = await runCli(["record", "-o", "/nonexistent-dir/x.pb.gz", "--duration", "1"]);
	assert.notEqual(r.code, 0);
	assert.equal(r.stderr.trim(), "tsprof: cannot write /nonexistent-dir/x.pb.gz: no such directory");
});
