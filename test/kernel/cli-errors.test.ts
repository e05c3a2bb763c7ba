/**
 * Every error the user can act on ends, through the real CLI, as exactly one
 * line on stderr and a non-zero exit: never a stack trace (ARCHITECTURE.md,
 * Conventions).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import {
	assertOk,
	type CliOptions,
	type CliResult,
	runCli,
} from "../helpers/kernel-cli.js";
import { Scratch } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
let scratch: Scratch;

before(() => {
	if (skip) return;
	scratch = new Scratch("tsprof-errors-");
});
after(() => scratch?.cleanup());

/** Asserts one line on stderr that matches `message`, nothing on stdout, and a non-zero exit. */
function assertOneLineError(r: CliResult, message: RegExp, what: string): void {
	const lines = r.stderr.split("\n").filter((l) => l.length > 0);
	assert.equal(
		r.signal,
		null,
		`${what}: ended by ${r.signal}, stderr: ${r.stderr}`,
	);
	assert.notEqual(r.code, 0, `${what}: a non-zero exit`);
	assert.equal(
		lines.length,
		1,
		`${what}: exactly one line on stderr, got:\n${r.stderr}`,
	);
	assert.doesNotMatch(r.stderr, /^\s*at /m, `${what}: no stack trace`);
	assert.match(lines[0], /^tsprof: /, `${what}: the line says who speaks`);
	assert.match(lines[0], message, what);
	assert.equal(r.stdout, "", `${what}: nothing on stdout`);
}

async function expectError(
	args: readonly string[],
	message: RegExp,
	options: CliOptions = {},
): Promise<CliResult> {
	const r = await runCli(args, { timeoutMs: 20_000, ...options });
	assertOneLineError(r, message, `tsprof ${args.join(" ")}`);
	return r;
}

test("record without root names the capabilities it needs", {
	skip,
}, async () => {
	const out = join(scratch.dir, "nobody.pb.gz");
	// nobody must be able to enter the dir for the check to be about capabilities.
	chmodSync(scratch.dir, 0o755);
	const r = await expectError(
		["record", "-o", out, "--duration", "1"],
		/CAP_BPF.*CAP_PERFMON|CAP_PERFMON.*CAP_BPF/,
		{
			prefix: [
				"setpriv",
				"--reuid=65534",
				"--regid=65534",
				"--clear-groups",
				"--inh-caps=-all",
			],
		},
	);
	assert.match(r.stderr, /root/);
	assert.equal(existsSync(out), false, "no file written");
});

test("record on a kernel without BTF says so", { skip }, async () => {
	const out = join(scratch.dir, "nobtf.pb.gz");
	await expectError(
		["record", "-o", out, "--duration", "1"],
		/BTF.*\/nonexistent|\/nonexistent.*BTF/,
		{
			env: { ...process.env, TSPROF_BTF_PATH: "/nonexistent" },
		},
	);
	assert.equal(existsSync(out), false, "no file written");
});

test("an unknown option is named", { skip }, async () => {
	const r = await expectError(
		[
			"record",
			"-o",
			join(scratch.dir, "x.pb.gz"),
			"--bogus-option",
			"--duration",
			"1",
		],
		/--bogus-option/,
	);
	assert.equal(r.code, 2, "usage errors exit 2");
	await expectError(
		["report", join(scratch.dir, "x.pb.gz"), "--frequency", "5"],
		/--frequency/,
	);
	await expectError(["frobnicate"], /frobnicate/);
});

test("record --pid of a process that does not exist", { skip }, async () => {
	const pid = 4194303; // the largest pid Linux can hand out (PID_MAX_LIMIT - 1)
	assert.equal(
		existsSync(`/proc/${pid}`),
		false,
		"the pid really does not exist",
	);
	const out = join(scratch.dir, "nopid.pb.gz");
	await expectError(
		["record", "-o", out, "--duration", "1", "--pid", String(pid)],
		new RegExp(`${pid}`),
	);
	assert.equal(existsSync(out), false, "no file written");
});

test("record to a path it cannot write", { skip }, async () => {
	await expectError(
		[
			"record",
			"-o",
			join(scratch.dir, "no-such-dir", "x.pb.gz"),
			"--duration",
			"1",
		],
		/cannot write .*no-such-dir/,
	);
});

test("report on a missing, empty or corrupt file", { skip }, async () => {
	const missing = join(scratch.dir, "missing.pb.gz");
	await expectError(["report", missing], /missing\.pb\.gz/);
	await expectError(["report", missing, "--json"], /missing\.pb\.gz/);

	const empty = join(scratch.dir, "empty.pb.gz");
	writeFileSync(empty, "");
	await expectError(["report", empty, "--json"], /empty\.pb\.gz/);

	const random = join(scratch.dir, "random.pb.gz");
	writeFileSync(random, randomBytes(8192));
	await expectError(["report", random], /random\.pb\.gz/);
	await expectError(["report", random, "--json"], /random\.pb\.gz/);
	await expectError(["report", random, "--folded"], /random\.pb\.gz/);

	const gzippedJunk = join(scratch.dir, "gzipped-junk.pb.gz");
	writeFileSync(gzippedJunk, gzipSync(randomBytes(8192)));
	await expectError(["report", gzippedJunk, "--json"], /gzipped-junk\.pb\.gz/);

	await expectError(
		["report", scratch.dir, "--json"],
		new RegExp(scratch.dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
	);

	// A real recording, cut short. A process that burns 500 ms of CPU gives
	// it samples however idle the machine is (idle CPUs are not sampled).
	const good = join(scratch.dir, "good.pb.gz");
	const burn = scratch.compile("brief-burn");
	assertOk(
		await runCli(["record", "-o", good, "--duration", "5", "--", burn, "500"]),
		"tsprof record",
	);
	assertOk(
		await runCli(["report", good, "--json"]),
		"tsprof report of the whole file",
	);
	const bytes = readFileSync(good);
	assert.ok(bytes.length > 200, `a recording of ${bytes.length} bytes`);
	const truncated = join(scratch.dir, "truncated.pb.gz");
	writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
	await expectError(["report", truncated, "--json"], /truncated\.pb\.gz/);
	await expectError(["report", truncated], /truncated\.pb\.gz/);
});

// meow leaves an option without its value undefined, as if never given:
// `--duration` alone would record until a signal (the run is killed after
// 5 s), `--pid` alone would report every process.
test("an option that needs a value and has none is an error", {
	skip,
}, async () => {
	const good = join(scratch.dir, "good.pb.gz");
	assert.ok(existsSync(good), "the recording of the test before");
	await expectError(
		["record", "-o", join(scratch.dir, "noduration.pb.gz"), "--duration"],
		/--duration/,
		{ timeoutMs: 5000 },
	);
	await expectError(["report", good, "--json", "--pid"], /--pid/);
	await expectError(["report", good, "--top"], /--top/);
	await expectError(
		[
			"record",
			"-o",
			join(scratch.dir, "nofreq.pb.gz"),
			"-F",
			"--duration",
			"1",
		],
		/-F/,
	);
});
