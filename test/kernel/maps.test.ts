/**
 * Map hygiene (DESIGN.md principle 5): after a storm of ~1000 short
 * processes, the BPF hash and stack-trace maps are back to their baseline,
 * because every drain deletes what it read (batch deletes on the hash maps,
 * key-by-key on the stack maps, which have no batch delete), and the
 * record summary shows both counts.
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
 * The entries a map keeps for good: the drained half of the double buffer
 * is empty between drains, the active half fills until the next flip, so
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

test("after a storm of 1000 processes the hash and stack maps are back to their baseline", {
	skip,
}, async (t) => {
	const periodMs = 250;
	const s = await SamplerSession.start(
		{ kernel: loadKernel(), proc: new ProcFs() },
		{ frequencyHz: 199, drainIntervalMs: periodMs },
		cpus().length,
	);
	session = s;
	const errors: Error[] = [];
	s.onError((e) => errors.push(e));
	let stormSamples = 0;
	let batches = 0;
	s.subscribe((b) => {
		batches++;
		for (const x of b.samples)
			if (x.comm === "brief-burn") stormSamples += x.value;
	});
	// The first drain loads every symbol table: let it and one more pass.
	await waitFor("two drains", () => batches >= 2, 15_000);

	const ids = s.kernelIds().maps;
	const infos = await Promise.all(
		ids.map((id) => bpftool<MapInfo>("map", "show", "id", String(id))),
	);
	const watched = infos.filter(
		(m) => m.type === "hash" || m.type === "stack_trace",
	);
	assert.equal(
		watched.filter((m) => m.type === "hash").length,
		2,
		`two counts maps: ${JSON.stringify(infos)}`,
	);
	assert.equal(
		watched.filter((m) => m.type === "stack_trace").length,
		2,
		`two stack maps: ${JSON.stringify(infos)}`,
	);
	const baseline = await lasting(watched, periodMs);
	const cleanupBefore = s.stats().mapCleanup;

	// ~1000 processes of ~1 ms of CPU each; watch the maps fill meanwhile.
	const parent = scratch.start(storm, ["1000", "4", brief, "1"]);
	const peak = new Map<number, number>();
	let stormDone = false;
	void parent.exited.then(() => {
		stormDone = true;
	});
	while (!stormDone) {
		for (const m of watched)
			peak.set(m.id, Math.max(peak.get(m.id) ?? 0, await entries(m.id)));
		await sleep(20);
	}
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
	// The maps were really used meanwhile: without the cleanup they would
	// have grown by every entry it deleted.
	const stats = s.stats();
	const batch = stats.mapCleanup.batchDeletes - cleanupBefore.batchDeletes;
	const fallback =
		stats.mapCleanup.fallbackDeletes - cleanupBefore.fallbackDeletes;
	assert.ok(
		batch >= 4 * 64,
		`counts entries deleted during the storm: ${batch}`,
	);
	assert.ok(
		fallback >= 4 * 64,
		`stack entries deleted during the storm: ${fallback}`,
	);
	assert.ok(
		stormSamples >= 100,
		`samples of the storm's processes: ${stormSamples}`,
	);

	t.diagnostic(
		`map cleanup ${JSON.stringify(stats.mapCleanup)}, processes seen ${stats.processesSeen}, deferred ${stats.deferredProcesses}`,
	);
	assert.ok(
		stats.mapCleanup.batchDeletes > 0,
		"batch deletes on the counts maps",
	);
	assert.ok(
		stats.mapCleanup.fallbackDeletes > 0,
		"key-by-key deletes on the stack maps",
	);
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

test("the record summary reports the map cleanup: batch and fallback deletes", {
	skip,
}, async () => {
	const parent = scratch.start(storm, ["-w", "50", "2", brief, "5"]);
	await waitForLines(parent, 1);
	const file = join(scratch.dir, "cleanup.pb.gz");
	const rec = await startRecord(file, []);
	parent.child.stdin?.end("go\n");
	assert.equal((await parent.exited).code, 0);
	await sleep(600);
	rec.child.kill("SIGINT");
	const r = assertOk(await rec.done, "tsprof record");
	const summary = parseRecordSummary(r.stderr);
	assert.ok(summary, `a summary line on stderr: ${r.stderr}`);
	assert.ok(summary.batchDeletes > 0, `batch deletes: ${r.stderr}`);
	assert.ok(
		summary.fallbackDeletes > 0,
		`fallback deletes (stack maps have no batch delete): ${r.stderr}`,
	);
	assert.equal(summary.failures, 0, r.stderr);
});
