/**
 * `tsprof COMMAND --help` prints the usage and exits 0 without starting the
 * command: meow answers --help only when it is the one argument, and top
 * used to start sampling instead. Runs the CLI from source, without root.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { projectRoot } from "../helpers/root.js";

const cli = join(projectRoot, "source", "cli.tsx");

function run(args: readonly string[]) {
	const r = spawnSync(process.execPath, ["--import", "tsx", cli, ...args], { cwd: projectRoot, encoding: "utf8", timeout: 60_000 });
	return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

test("--help and -h after a command print the usage and exit 0, before anything is loaded or started", () => {
	const usage = run(["--help"]);
	assert.equal(usage.code, 0);
	assert.match(usage.stdout, /Usage\n +\$ tsprof top /);
	for (const args of [["top", "--help"], ["record", "-h"], ["report", "--help"], ["top", "-n", "1", "-F", "49", "-h"]]) {
		const r = run(args);
		const what = `tsprof ${args.join(" ")}`;
		assert.equal(r.signal, null, `${what}: ended on its own, stderr: ${r.stderr}`);
		assert.equal(r.code, 0, `${what}: exit 0, stderr: ${r.stderr}`);
		assert.equal(r.stderr, "", `${what}: nothing on stderr (no root check, no kernel)`);
		assert.equal(r.stdout, usage.stdout, `${what}: the usage, as tsprof --help prints it`);
	}
});

test("--help does not hide a wrong command, and after -- it belongs to the launched command", () => {
	const unknown = run(["nope", "--help"]);
	assert.equal(unknown.code, 2);
	assert.match(unknown.stderr, /^tsprof: unknown command 'nope'/);
	const launched = run(["report", "x.pb.gz", "--", "ls", "--help"]);
	assert.equal(launched.code, 2);
	assert.equal(launched.stdout, "");
	assert.match(launched.stderr, /^tsprof: report does not start commands/);
});
