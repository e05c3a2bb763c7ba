import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { intervalsToData } from "../helpers/top-data.js";
import type { LiveBatch } from "../../source/profile/live.js";
import { fit, frameMarker, functionLine, headerLines, moduleLabel, segmentsText } from "../../source/ui/top-format.js";
import { NO_FILTER } from "../../source/profile/top/filter.js";
import { functionTable } from "../../source/profile/top/function-table.js";
import { selfCpuPercent } from "../../source/profile/top/rates.js";
import { DEFAULT_CONFIG, samplesPerSecond, type TopConfig, type TopData } from "../../source/profile/top/window.js";
import { batch, kernel, LIBC, STATS, systemBatch } from "../ui/fake-source.js";

const CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

/** Feeds each list of batches as one 1 s interval, starting at t = 0. */
const run = (intervals: readonly (readonly LiveBatch[])[], config: TopConfig = CONFIG, from?: TopData): TopData =>
	intervalsToData(intervals, config, from);

describe("text", () => {
	test("fit cuts with an ellipsis and pads", () => {
		assert.equal(fit("abcdef", 4), "abc…");
		assert.equal(fit("ab", 4), "ab  ");
		assert.equal(fit("ab", 0), "");
	});

	test("function lines mark kernel frames and show short module names", () => {
		const rows = functionTable(run([[systemBatch()]]), NO_FILTER).rows;
		const syscall = rows.find((r) => r.kernel);
		assert.ok(syscall);
		assert.match(
			functionLine(syscall, 80),
			/^ +10\.0 +10\.0 \[k\] do_syscall_64 +\[kernel\] *$/,
		);
		assert.equal(functionLine(syscall, 80).length, 80);
		assert.equal(frameMarker(false), "[.]");
		assert.equal(moduleLabel(LIBC), "libc.so.6");
		assert.equal(moduleLabel(""), "?");
	});

	test("the header names rates, costs, housekeeping, filters, pause and recording", () => {
		const lines = headerLines({
			stats: STATS,
			samplesPerSecond: 396,
			selfCpuPercent: 1.25,
			selfRssBytes: 64 * 1024 * 1024,
			filter: { pids: [1, 2], search: "hot", hideKernel: true },
			windowS: 10,
			paused: true,
			recording: { file: "out.pb.gz", samples: 12 },
		}).map(segmentsText);
		assert.match(
			lines[0] ?? "",
			/99 Hz {2}4 CPUs {2}396 samples\/s {2}lost 3 .*tsprof 1\.3% CPU {2}64\.0 MiB RSS/,
		);
		assert.match(
			lines[1] ?? "",
			/deferred 7 .*batch 40 {2}fallback 5 {2}failed 1/,
		);
		assert.match(
			lines[2] ?? "",
			/filter: pid 1,2 {2}search "hot" {2}kernel hidden .*PAUSED .*REC out\.pb\.gz \(12 samples\)/,
		);
	});
});
