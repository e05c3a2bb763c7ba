/**
 * Map hygiene (ARCHITECTURE.md, Principles: 5): after a storm of ~1000 short
 * processes, with off-CPU time measured, the per-thread switch-out map is
 * back to its baseline: a thread that exits takes its entry with it, and the
 * drain sweeps entries of threads that are gone (batch deletes, key by key
 * where a batch stops). The record summary shows the cleanup counts.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { loadKernel } from "../../source/kernel/addon.js";
import { ProcFs } from "../../source/process/procfs.js";
import { SamplerSession } from "../../source/sampler/session.js";
import {
	assertOk,
	parseRecordSummary,
	startRecord,
} from "../helpers/kernel-cli.js";
import {
	Scratch,
	sleep,
	waitFor,
	waitForLines,
} from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const run = promisify(execFile);
const skip = requireKernel();
let scratch: Scratch;
let brief: string;
let storm: string;
let session: SamplerSession | undefined;

before(() => {
	if (skip) return;
	scratch = new Scratch("tsprof-maps-");
	brief = scratch.compile("brief-burn");
	storm = scratch.compile("spawn-storm");
});
after(async () => {
	await session?.close();
	await scratch?.cleanup();
});

interface MapInfo {
	readonly id: number;
	readonly type: string;
	readonly name: string;
}

// bpftool runs asynchronously: blocking the event loop would stall the drains.
async function bpftool<T>(...args: string[]): Promise<T> {
	const { stdout } = await run("bpftool", [...args, "-j"], {
		maxBuffer: 1 << 28,
	});
	return JSON.parse(stdout) as T;
}
const entries = async (id: number) =>
	(await bpftool<unknown[]>("map", "dump", "id", String(id))).length;

/**
 * The entries a map keeps for good: threads block and wake all the time, so
 * the least of several readings over two drain periods is what stays.
 */
async function lasting(
	maps: readonly MapInfo[],
	periodMs: number,
): Promise<Map<number, number>> {
	const least = new Map<number, number>();
	const end = Date.now() + 2.5 * periodMs;
	while (Date.now() < end) {
		for (const m of maps) {
			const n = await entries(m.id);
			least.set(m.id, Math.min(least.get(m.id) ?? n, n));
		}
		await sleep(periodMs / 5);
	}
	return least;
}

/** The most entries each map held, read every 20 ms until `done` settles. */
async function peaksUntil(maps: readonly MapInfo[], done: Promise<unknown>): Promise<Map<number, number>> {
	const peak = new Map<number, number>();
	let over = false;
	void done.then(() => {
		over = true;
	});
	while (!over) {
		for (const m of maps) peak.set(m.id, Math.max(peak.get(m.id) ?? 0, await entries(m.id)));
		await sleep(20);
	}
	return peak;
}

test("after a storm of 1000 processes the off-CPU map is back to its baseline", {
	skip,
}, async (t) => {
	const periodMs = 250;
	const s = await SamplerSession.start(
		{ kernel: loadKernel(), proc: new ProcFs() },
		{ frequencyHz: 199, drainIntervalMs: periodMs, offCpu: { minBlockUs: 1 } },
		cpus().length,
	);
	session = s;
	const errors: Error[] = [];
	s.onError((e) => errors.push(e));
	let stormSamples = 0;
	let stormBlockedNs = 0;
	let batches = 0;
	s.subscribe((b) => {
		batches++;
		for (const x of b.samples)
			if (x.comm === "brief-burn") stormSamples += x.value;
		for (const x of b.offCpu ?? [])
			if (x.comm === "brief-burn") stormBlockedNs += x.value;
	});
	// The first drain loads every symbol table: let it and one more pass.
	await waitFor("two drains", () => batches >= 2, 15_000);

	const ids = s.kernelIds().maps;
	const infos = await Promise.all(
		ids.map((id) => bpftool<MapInfo>("map", "show", "id", String(id))),
	);
	// The other hash map, of the processes --pid follows, is unused here.
	const watched = infos.filter((m) => m.type === "hash" && m.name !== "followed");
	assert.deepEqual(
		watched.map((m) => m.name),
		["offcpu_start"],
		`one hash map, the per-thread switch-outs: ${JSON.stringify(infos)}`,
	);
	const baseline = await lasting(watched, periodMs);
	const cleanupBefore = s.stats().mapCleanup;

	// ~1000 processes of ~1 ms of CPU each; watch the maps fill meanwhile.
	const parent = scratch.start(storm, ["1000", "4", brief, "1"]);
	const peak = await peaksUntil(watched, parent.exited);
	const end = await parent.exited;
	assert.equal(end.code, 0, "every process of the storm ran to its end");
	assert.equal(parent.lines.length, 1001, "the storm started 1000 processes");
	// A few drains.
	const seen = batches;
	await waitFor("three more drains", () => batches >= seen + 3, 10_000);
	const afterStorm = await lasting(watched, periodMs);

	for (const m of watched) {
		const b = baseline.get(m.id) ?? 0;
		const a = afterStorm.get(m.id) ?? 0;
		t.diagnostic(
			`${m.type} ${m.name} (id ${m.id}): baseline ${b}, peak ${peak.get(m.id)}, after ${a}`,
		);
		assert.ok(
			a - b <= 64,
			`${m.type} map ${m.name} grew from ${b} to ${a} entries`,
		);
	}
	// The map was really used meanwhile: thousands of threads blocked and
	// exited, so without the cleanup it would have grown by each of them.
	const stats = s.stats();
	const loss = s.lossDetails();
	assert.ok(
		(peak.get(watched[0].id) ?? 0) > (baseline.get(watched[0].id) ?? 0),
		`the switch-out map held the storm's threads: peak ${peak.get(watched[0].id)}, baseline ${baseline.get(watched[0].id)}`,
	);
	assert.ok(loss.offCpuBlocks >= 1000, `blocks measured: ${loss.offCpuBlocks}`);
	assert.ok(stormBlockedNs > 0, "the storm's processes blocked, and it was measured");
	assert.ok(
		stormSamples >= 100,
		`samples of the storm's processes: ${stormSamples}`,
	);

	t.diagnostic(
		`map cleanup ${JSON.stringify(stats.mapCleanup)}, processes seen ${stats.processesSeen}, deferred ${stats.deferredProcesses}`,
	);
	assert.ok(stats.mapCleanup.batchDeletes >= cleanupBefore.batchDeletes);
	assert.equal(stats.mapCleanup.failures, 0);
	assert.ok(
		stats.processesSeen >= 1000,
		`processes seen: ${stats.processesSeen}`,
	);
	// The process table lets go of exited processes too, once a later drain is processed.
	assert.ok(
		stats.deferredProcesses <= 20,
		`exited processes still kept: ${stats.deferredProcesses}`,
	);
	assert.deepEqual(errors, []);
	await s.close();
	session = undefined;
});

test("following a process, the kernel's map of followed processes holds its storm and lets each go at its exit", {
	skip,
}, async () => {
	const parent = scratch.start(storm, ["-w", "300", "4", brief, "1"]);
	await waitForLines(parent, 1);
	const s = await SamplerSession.start(
		{ kernel: loadKernel(), proc: new ProcFs() },
		{ frequencyHz: 199, drainIntervalMs: 250, pids: [parent.pid] },
		cpus().length,
	);
	session = s;
	let stormSamples = 0;
	s.subscribe((b) => {
		for (const x of b.samples) if (x.comm === "brief-burn") stormSamples += x.value;
	});
	const infos = await Promise.all(s.kernelIds().maps.map((id) => bpftool<MapInfo>("map", "show", "id", String(id))));
	const followed = infos.find((m) => m.name === "followed");
	assert.ok(followed, `a map of followed processes: ${JSON.stringify(infos)}`);
	assert.equal(await entries(followed.id), 1, "the storm's parent, before it starts anything");
	parent.child.stdin?.end("go\n");
	const peak = (await peaksUntil([followed], parent.exited)).get(followed.id) ?? 0;
	assert.equal((await parent.exited).code, 0);
	await s.tick();
	assert.ok(peak > 1, `the storm's processes were followed: peak ${peak}`);
	assert.equal(await entries(followed.id), 0, "every followed process took its entry with it");
	assert.ok(stormSamples >= 20, `samples of the storm's processes: ${stormSamples}`);
	await s.close();
	session = undefined;
});

test("record --off-cpu reports the blocks, and the map cleanup with no failures", {
	skip,
}, async () => {
	const parent = scratch.start(storm, ["-w", "50", "2", brief, "5"]);
	await waitForLines(parent, 1);
	const file = join(scratch.dir, "cleanup.pb.gz");
	const rec = await startRecord(file, ["--off-cpu"]);
	parent.child.stdin?.end("go\n");
	assert.equal((await parent.exited).code, 0);
	await sleep(600);
	rec.child.kill("SIGINT");
	const r = assertOk(await rec.done, "tsprof record");
	const summary = parseRecordSummary(r.stderr);
	assert.ok(summary, `a summary line on stderr: ${r.stderr}`);
	assert.equal(summary.failures, 0, r.stderr);
	const blocks = /off-CPU: (\d+) blocks, (\d+) blocks lost/.exec(r.stderr);
	assert.ok(blocks, `an off-CPU line on stderr: ${r.stderr}`);
	assert.ok(Number(blocks[1]) >= 50, `blocks: ${r.stderr}`);
	assert.equal(Number(blocks[2]), 0, `no block lost: ${r.stderr}`);
});
