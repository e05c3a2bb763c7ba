/**
 * Binaries tsprof cannot open by their path: one deleted while it runs, and
 * one visible only inside a private mount namespace. Their functions are
 * still named (the symbolizer goes through /proc/PID/map_files and
 * /proc/PID/root), through the real CLI.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ReportJson } from "../../source/output/report-text.js";
import {
	assertOk,
	reportJson,
	runCli,
	startRecord,
} from "../helpers/kernel-cli.js";
import {
	Scratch,
	type Started,
	sleep,
	waitForLines,
} from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const skip = requireKernel();
let scratch: Scratch;
let ratio: string;

before(() => {
	if (skip) return;
	scratch = new Scratch("tsprof-binaries-");
	ratio = scratch.compile("ratio-burn");
});
after(() => scratch?.cleanup());

/** Starts a copy of the ratio fixture at `path` and waits for its pid line. */
async function startCopy(path: string): Promise<Started> {
	copyFileSync(ratio, path);
	const p = scratch.start(path, ["0"]);
	assert.equal(Number((await waitForLines(p, 1))[0]), p.pid);
	return p;
}

async function stop(...ps: Started[]): Promise<void> {
	for (const p of ps) p.child.kill("SIGKILL");
	await Promise.all(ps.map((p) => p.exited));
}

/** The report of one pid, with its hot function. */
async function hotOf(
	file: string,
	pid: number,
): Promise<{ r: ReportJson; alpha?: ReportJson["functions"][number] }> {
	const r = await reportJson(file, ["--pid", String(pid)]);
	return { r, alpha: r.functions.find((f) => f.name === "ratio_alpha") };
}

test("a binary deleted while it runs is still named, and marked deleted", {
	skip,
}, async () => {
	const path = join(scratch.dir, "gone-early");
	const p = await startCopy(path);
	try {
		rmSync(path);
		assert.equal(existsSync(path), false);
		const file = join(scratch.dir, "deleted.pb.gz");
		assertOk(
			await runCli([
				"record",
				"-o",
				file,
				"--duration",
				"2",
				"--pid",
				String(p.pid),
			]),
			"tsprof record",
		);
		const { r, alpha } = await hotOf(file, p.pid);
		assert.ok(r.samples >= 20, `samples: ${r.samples}`);
		assert.ok(
			alpha,
			`ratio_alpha named: ${JSON.stringify(r.functions.slice(0, 4))}`,
		);
		assert.ok(
			alpha.self >= 0.5 * r.samples,
			`ratio_alpha has ${alpha.self} of ${r.samples} samples`,
		);
		assert.equal(
			alpha.module,
			`${path} (deleted)`,
			"the module is marked deleted",
		);
		assert.equal(
			r.processes[0].exe,
			`${path} (deleted)`,
			"the exe is marked deleted",
		);
	} finally {
		await stop(p);
	}
});

// Its mapping is known from the side-band under the path it had at exec,
// so the symbolizer must not rely on that path still holding the file.
test("a binary started during the recording and deleted at once is still named, and marked deleted", {
	skip,
}, async () => {
	const file = join(scratch.dir, "deleted-late.pb.gz");
	const rec = await startRecord(file, []);
	// Past the first drain, which loads every symbol table and takes a while.
	await sleep(1500);
	const path = join(scratch.dir, "gone-late");
	const p = await startCopy(path);
	try {
		// Deleted before any drain could have opened it.
		rmSync(path);
		await sleep(1500);
		rec.child.kill("SIGINT");
		assertOk(await rec.done, "tsprof record");
		const { r, alpha } = await hotOf(file, p.pid);
		assert.ok(r.samples >= 20, `samples: ${r.samples}`);
		assert.ok(
			alpha,
			`ratio_alpha named: ${JSON.stringify(r.functions.slice(0, 4))}`,
		);
		assert.equal(
			alpha.module,
			`${path} (deleted)`,
			"the module is marked deleted",
		);
		// The exe was still there when the process started.
		assert.ok(
			[path, `${path} (deleted)`].includes(r.processes[0].exe),
			`exe ${r.processes[0].exe}`,
		);
	} finally {
		await stop(p);
		rec.child.kill("SIGKILL");
	}
});

/** Runs a copy of the ratio fixture as DIR/x, where DIR is a tmpfs mounted in a private mount namespace. */
async function startInNamespace(dir: string): Promise<Started> {
	const script = `mount -t tmpfs none '${dir}' && cp '${ratio}' '${dir}/x' && exec '${dir}/x' 0`;
	// unshare and sh exec in place: the fixture keeps the pid of the child.
	const p = scratch.start("unshare", [
		"--mount",
		"--propagation",
		"private",
		"sh",
		"-c",
		script,
	]);
	assert.equal(Number((await waitForLines(p, 1))[0]), p.pid);
	return p;
}

test("a binary visible only in a private mount namespace is named", {
	skip,
}, async () => {
	const before = scratch.mkdir("ns-before-");
	const during = scratch.mkdir("ns-during-");
	// One process from before the recording (found by the /proc scan) ...
	const early = await startInNamespace(before);
	try {
		assert.equal(
			existsSync(join(before, "x")),
			false,
			"the binary is not visible from here",
		);
		const file = join(scratch.dir, "namespace.pb.gz");
		const rec = await startRecord(file, []);
		await sleep(1000);
		// ... and one started during it (announced by exec and side-band records).
		const late = await startInNamespace(during);
		try {
			await sleep(2000);
			rec.child.kill("SIGINT");
			assertOk(await rec.done, "tsprof record");
		} finally {
			await stop(late);
		}
		for (const [p, dir] of [
			[early, before],
			[late, during],
		] as const) {
			const { r, alpha } = await hotOf(file, p.pid);
			assert.ok(r.samples >= 20, `samples of ${dir}/x: ${r.samples}`);
			assert.equal(r.processes[0].exe, join(dir, "x"));
			assert.ok(
				alpha,
				`ratio_alpha of ${dir}/x named: ${JSON.stringify(r.functions.slice(0, 4))}`,
			);
			assert.equal(alpha.module, join(dir, "x"));
			assert.ok(
				alpha.self >= 0.5 * r.samples,
				`ratio_alpha has ${alpha.self} of ${r.samples} samples`,
			);
		}
	} finally {
		await stop(early);
	}
});
