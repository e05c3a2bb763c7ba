/**
 * report and top count the same samples the same way (ARCHITECTURE.md,
 * Counting): one recording goes through `tsprof report --json` and through
 * top's model as `top --input` feeds it, and every self, total and process
 * figure must match, with and without kernel frames, with and without a pid
 * filter.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, test } from "node:test";
import { report } from "../../source/commands/report.js";
import { encodeProfile, readProfileFile } from "../../source/output/pprof.js";
import { aggregate } from "../../source/profile/aggregate.js";
import type { Profile, Sample } from "../../source/profile/model.js";
import { processKey } from "../../source/profile/process-key.js";
import { replaySource } from "../../source/profile/replay.js";
import { functionTable } from "../../source/profile/top/function-table.js";
import { IntervalAccumulator } from "../../source/profile/top/interval.js";
import { processRows } from "../../source/profile/top/process-rows.js";
import { advance, DEFAULT_CONFIG, emptyTopData, type TopData } from "../../source/profile/top/window.js";
import { kernel, LIBC, sample, user } from "../ui/fake-source.js";

const LIB = "/opt/bench/libblob.so";
const main = [user("__libc_start_main", LIBC), user("main")];

/** Every case the two used to disagree on, and the plain ones. */
function samples(): Sample[] {
	return [
		sample(100, [...main, user("hot_alpha")], 60),
		sample(100, [...main, user("hot_beta")], 20, { tid: 101 }),
		// Unnamed frames: one row per module and reason, whatever the address.
		sample(100, [...main, user("[unknown] 0x7f3a12 (no symbols)", LIB)], 5),
		sample(100, [...main, user("[unknown] 0x7f3b40 (no symbols)", LIB)], 4),
		sample(100, [user("[unknown] 0x7f3b40 (no symbols)", LIB), user("[unknown] 0x7f3a12 (no symbols)", LIB)], 2),
		// A syscall from user code, and a stack that is kernel only.
		sample(100, [...main, user("write", LIBC), kernel("ksys_write"), kernel("vfs_write")], 7),
		sample(300, [kernel("worker_thread"), kernel("schedule")], 9, { comm: "kworker/0:1", exe: "" }),
		// Recursion counts once in total.
		sample(200, [...main, user("fib"), user("fib"), user("fib")], 6, { comm: "bash", exe: "/usr/bin/bash" }),
		// A sample whose stack could not be read.
		sample(200, [], 3, { comm: "bash", exe: "/usr/bin/bash" }),
		// A reused pid: another process.
		sample(200, [...main, user("readline")], 8, { startNs: 5000n, comm: "bash", exe: "/usr/bin/bash" }),
	];
}

const dir = mkdtempSync(join(tmpdir(), "tsprof-agree-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function recorded(): Promise<{ file: string; profile: Profile }> {
	const file = join(dir, "rec.pb.gz");
	writeFileSync(
		file,
		encodeProfile({ samples: samples(), unit: "samples", frequencyHz: 99, startTimeMs: 0, durationMs: 1000, lostSamples: 0 }),
	);
	return { file, profile: await readProfileFile(file) };
}

interface Figures {
	readonly functions: Map<string, [number, number]>;
	readonly processes: Map<string, number>;
	readonly samples: number;
}

async function reportFigures(file: string, pids: number[]): Promise<Figures> {
	let text = "";
	const stdout = new Writable({
		write(chunk, _enc, done) {
			text += String(chunk);
			done();
		},
	});
	await report({ file, format: "json", pids, comms: [], stdout });
	const json = JSON.parse(text) as {
		samples: number;
		processes: { pid: number; samples: number }[];
		functions: { name: string; module: string; self: number; total: number }[];
	};
	const functions = new Map(json.functions.map((f) => [`${f.module} ${f.name}`, [f.self, f.total] as [number, number]]));
	return { functions, processes: new Map(), samples: json.samples };
}

/** What top --input shows of the recording: one refresh of all of it. */
async function topData(profile: Profile): Promise<TopData> {
	const source = replaySource(profile);
	const acc = new IntervalAccumulator(0);
	await new Promise<void>((resolve) => {
		source.subscribe((b) => {
			acc.add(b);
			resolve();
		});
	});
	return advance(emptyTopData({ ...DEFAULT_CONFIG, frequencyHz: profile.frequencyHz }), acc.take(1000));
}

function topFigures(data: TopData, pids: number[], hideKernel: boolean): Figures {
	const table = functionTable(data, { pids, hideKernel });
	const functions = new Map(table.rows.map((r) => [`${r.module} ${r.name}`, [r.self, r.total] as [number, number]]));
	const processes = new Map<string, number>();
	for (const state of data.processes.values()) {
		const { info } = state;
		if (pids.length > 0 && !pids.includes(info.pid)) continue;
		processes.set(processKey(info.pid, info.startNs), data.totals.perProcess.get(info.id) ?? 0);
	}
	return { functions, processes, samples: table.samples };
}

function aggregateFigures(profile: Profile, pids: number[], hideKernel: boolean): Figures {
	const agg = aggregate(profile.samples, { pids, hideKernel });
	return {
		functions: new Map(agg.functions.map((f) => [`${f.module} ${f.name}`, [f.self, f.total] as [number, number]])),
		processes: new Map(agg.processes.map((p) => [processKey(p.pid, p.startNs), p.samples])),
		samples: agg.total,
	};
}

describe("report and top agree", () => {
	for (const pids of [[], [100], [200, 300]]) {
		test(`self, total and samples of every function, pids [${pids}]`, async () => {
			const { file, profile } = await recorded();
			const fromReport = await reportFigures(file, pids);
			const fromTop = topFigures(await topData(profile), pids, false);
			assert.deepEqual(fromTop.functions, fromReport.functions);
			assert.equal(fromTop.samples, fromReport.samples);
			assert.ok(fromReport.functions.has(`${LIB} [unknown] (no symbols)`) || pids.length > 0);
		});
		for (const hideKernel of [false, true]) {
			test(`the same through aggregate, with the process figures, pids [${pids}], kernel ${hideKernel ? "hidden" : "shown"}`, async () => {
				const { profile } = await recorded();
				const fromTop = topFigures(await topData(profile), pids, hideKernel);
				const fromAggregate = aggregateFigures(profile, pids, hideKernel);
				assert.deepEqual(fromTop.functions, fromAggregate.functions);
				assert.deepEqual(fromTop.processes, fromAggregate.processes);
				assert.equal(fromTop.samples, fromAggregate.samples);
				const selfSum = [...fromTop.functions.values()].reduce((n, [self]) => n + self, 0);
				assert.equal(selfSum, fromTop.samples, "self sums to the samples");
			});
		}
	}

	test("the rule's cases are all in the recording", async () => {
		const { profile } = await recorded();
		const f = aggregateFigures(profile, [], true).functions;
		assert.deepEqual(f.get(`${LIB} [unknown] (no symbols)`), [11, 11]);
		assert.deepEqual(f.get("[kernel] [kernel]"), [9, 9]);
		assert.deepEqual(f.get("[unknown] [unknown] (stack truncated: no stack was read)"), [3, 3]);
		assert.deepEqual(f.get("/opt/bench/ratio fib"), [6, 6]);
		assert.equal(aggregateFigures(profile, [200], false).processes.size, 2);
		// And the process table of top's screen has the same figures.
		const rows = processRows(await topData(profile));
		assert.deepEqual(
			rows.map((r) => [r.pids[0], r.samples]).sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number)),
			[[100, 98], [200, 8], [200, 9], [300, 9]],
		);
	});
});
