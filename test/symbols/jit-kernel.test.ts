/**
 * JIT names through the real kernel and CLI: a node process with its perf
 * map is named as JavaScript; planted maps (another user's, a symlink, a
 * world-writable one) are refused, and their names reach no recording.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertOk, reportJson, runCli } from "../helpers/kernel-cli.js";
import { fixturesDir, Scratch, waitForLines } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
const burner = join(fixturesDir, "jit-burn.js");
let scratch: Scratch;
const planted: string[] = [];

before(() => {
	if (!skip) scratch = new Scratch("tsprof-jit-");
});
after(async () => {
	for (const file of planted) fs.rmSync(file, { force: true });
	await scratch?.cleanup();
});

const named = (r: Awaited<ReturnType<typeof reportJson>>, re: RegExp) => r.functions.filter((f) => re.test(f.name)).reduce((n, f) => n + f.total, 0);

// --perf-basic-prof-only-functions: the same map entries for functions, and
// no V8 log file left in the working directory.
test("node --perf-basic-prof-only-functions: its JavaScript functions are named, in their script, in their 2:1 proportion", { skip }, async () => {
	const p = scratch.start(process.execPath, ["--perf-basic-prof-only-functions", burner, "60"]);
	await waitForLines(p, 1);
	await new Promise((r) => setTimeout(r, 1000));
	const file = join(scratch.dir, "node.pb.gz");
	assertOk(await runCli(["record", "-o", file, "--duration", "4", "--pid", String(p.pid)]), "record");
	const r = await reportJson(file, ["--pid", String(p.pid)]);
	const alpha = r.functions.find((f) => f.name === "fixtureHotAlpha");
	const beta = r.functions.find((f) => f.name === "fixtureHotBeta");
	assert.ok(alpha && beta, `named: ${r.functions.slice(0, 8).map((f) => f.name).join(", ")}`);
	assert.equal(alpha.module, burner);
	assert.equal(beta.module, burner);
	const share = alpha.total / (alpha.total + beta.total);
	assert.ok(share > 0.5 && share < 0.8, `alpha's share ${share}`);
	p.child.kill("SIGKILL");
	fs.rmSync(`/tmp/perf-${p.pid}.map`, { force: true });
});

test("planted perf maps are refused (another user's, a symlink, world-writable); a trusted one is read", { skip }, async () => {
	// Node without --perf-basic-prof writes no map: each of these gets one planted.
	const procs = await Promise.all(
		["owner", "symlink", "writable", "trusted"].map(async (kind) => {
			const p = scratch.start(process.execPath, [burner, "60"]);
			await waitForLines(p, 1);
			return { kind, pid: p.pid };
		}),
	);
	// One entry covering all user space: any JIT address would take its name.
	const entry = (kind: string) => `0 7fffffffffff JS:*planted_${kind} /evil.js:1:1\n`;
	for (const { kind, pid } of procs) {
		const map = `/tmp/perf-${pid}.map`;
		planted.push(map);
		fs.rmSync(map, { force: true });
		if (kind === "symlink") {
			const target = join(scratch.dir, "target.map");
			fs.writeFileSync(target, entry(kind), { mode: 0o644 });
			fs.symlinkSync(target, map);
			continue;
		}
		fs.writeFileSync(map, entry(kind), { mode: 0o644 });
		if (kind === "owner") fs.chownSync(map, 65534, 65534);
		if (kind === "writable") fs.chmodSync(map, 0o666);
	}
	const file = join(scratch.dir, "planted.pb.gz");
	const args = procs.flatMap((p) => ["--pid", String(p.pid)]);
	assertOk(await runCli(["record", "-o", file, "--duration", "3", ...args]), "record");
	const bytes = fs.readFileSync(file);
	for (const kind of ["owner", "symlink", "writable"]) {
		assert.ok(!gunzipSync(bytes).includes(`planted_${kind}`), `planted_${kind} is in the recording`);
	}
	for (const { kind, pid } of procs) {
		const r = await reportJson(file, ["--pid", String(pid)]);
		const reasons = r.functions.map((f) => f.unknownReason ?? "").filter((x) => x.startsWith("JIT code"));
		if (kind === "trusted") {
			assert.ok(named(r, /^planted_trusted$/) > 0, "the trusted map names the JIT code");
			continue;
		}
		assert.equal(named(r, /planted/), 0);
		const why = { owner: /is owned by uid 65534/, symlink: /is a symlink/, writable: /is writable by others/ }[kind] as RegExp;
		assert.ok(reasons.length > 0, `pid ${pid} (${kind}) has JIT frames: ${r.functions.slice(0, 5).map((f) => f.name)}`);
		for (const reason of reasons) assert.match(reason, why);
	}
	for (const p of procs) process.kill(p.pid, "SIGKILL");
});
