/**
 * `tsprof record -o FILE -- COMMAND`: the real CLI on the real kernel
 * (the environment and command lookup are checked without root).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchEnv, resolveCommand } from "../../source/commands/launch.js";
import { reportJson, runCli } from "../helpers/kernel-cli.js";
import { fixturesDir, Scratch } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
let scratch: Scratch | undefined;
before(() => {
	if (!skip) scratch = new Scratch("tsprof-launch-");
});
after(() => scratch?.cleanup());

test("the launched environment asks node and python for perf maps, keeping the user's options", () => {
	assert.equal(launchEnv({}).NODE_OPTIONS, "--perf-basic-prof-only-functions");
	assert.equal(launchEnv({ NODE_OPTIONS: "--max-old-space-size=64" }).NODE_OPTIONS, "--max-old-space-size=64 --perf-basic-prof-only-functions");
	assert.equal(launchEnv({ NODE_OPTIONS: "--perf-basic-prof" }).NODE_OPTIONS, "--perf-basic-prof");
	assert.equal(launchEnv({}).PYTHONPERFSUPPORT, "1");
	assert.equal(launchEnv({ PYTHONPERFSUPPORT: "0" }).PYTHONPERFSUPPORT, "0");
});

test("commands are found as the shell finds them, or refused with one line", () => {
	assert.equal(resolveCommand("sh", { PATH: "/nonexistent:/bin" }), "/bin/sh");
	assert.throws(() => resolveCommand("no-such-command-tsprof", { PATH: "/bin" }), /cannot start no-such-command-tsprof: command not found/);
	assert.throws(() => resolveCommand("/etc/passwd", {}), /no such executable file/);
});

test("record -- COMMAND: follows its descendants, names their JavaScript, stops when it exits, passes on its status", { skip }, async () => {
	const file = join(scratch?.dir ?? "", "launch.pb.gz");
	const burner = join(fixturesDir, "jit-burn.js");
	const started = Date.now();
	// The shell forks node (the `; exit` keeps it from exec'ing it), so node is a descendant.
	const r = await runCli(["record", "-o", file, "--duration", "30", "--", "sh", "-c", `${process.execPath} ${burner} 2 >/dev/null; exit 5`]);
	const elapsed = Date.now() - started;
	assert.equal(r.code, 5, r.stderr);
	assert.match(r.stderr, /^tsprof: sh exited with status 5$/m);
	assert.ok(elapsed < 15_000, `record stopped ${elapsed} ms after start, not when the command exited`);
	const report = await reportJson(file, ["--comm", "node"]);
	const alpha = report.functions.find((f) => f.name === "fixtureHotAlpha");
	assert.ok(alpha && alpha.total > 0, `named: ${report.functions.slice(0, 6).map((f) => f.name)}`);
	assert.equal(alpha.module, burner);
	const all = await reportJson(file);
	assert.ok(all.processes.every((p) => p.comm === "sh" || p.comm === "node"), `only the command and its descendants: ${JSON.stringify(all.processes)}`);
	for (const pid of all.processes.map((p) => p.pid)) fs.rmSync(`/tmp/perf-${pid}.map`, { force: true });
});

test("record -- a command that cannot start: one line, non-zero exit, nothing armed", { skip }, async () => {
	const file = join(scratch?.dir ?? "", "never.pb.gz");
	const r = await runCli(["record", "-o", file, "--", "no-such-command-tsprof", "arg"]);
	assert.equal(r.code, 127);
	assert.equal(r.stderr, "tsprof: cannot start no-such-command-tsprof: command not found\n");
	assert.equal(fs.existsSync(file), false);
	const empty = await runCli(["record", "-o", file, "--"]);
	assert.equal(empty.code, 2);
	assert.equal(empty.stderr, "tsprof: '--' needs a command after it\n");
});

test("record -- a command killed by a signal: reported as such", { skip }, async () => {
	const file = join(scratch?.dir ?? "", "killed.pb.gz");
	const r = await runCli(["record", "-o", file, "--", "sh", "-c", "kill -TERM $$"]);
	assert.match(r.stderr, /^tsprof: sh was killed by SIGTERM$/m);
	assert.equal(r.code, 128 + 15);
});
