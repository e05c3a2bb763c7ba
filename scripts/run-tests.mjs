#!/usr/bin/env node
// Runs every test file under test/ with node's test runner (Node 20 does not
// expand globs), and fails when no test ran at all.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const files = [];
(function walk(dir) {
	for (const name of readdirSync(dir).sort()) {
		const p = join(dir, name);
		if (statSync(p).isDirectory()) walk(p);
		else if (/\.test\.tsx?$/.test(name)) files.push(relative(root, p));
	}
})(join(root, "test"));
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
	console.error("run-tests: no test files found");
	process.exit(1);
}
const r = spawnSync(
	process.execPath,
	// A test that hangs (a view waiting for a frame that never comes) fails
	// after five minutes instead of holding the whole run.
	["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=300000", "--test-reporter=spec", ...selected],
	{ cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 1 << 28 },
);
process.stdout.write(r.stdout ?? "");
const tests = Number(/^ℹ tests (\d+)$/m.exec(r.stdout ?? "")?.[1] ?? 0);
if (r.status === 0 && tests === 0) {
	console.error("run-tests: 0 tests ran");
	process.exit(1);
}
process.exit(r.status ?? 1);
