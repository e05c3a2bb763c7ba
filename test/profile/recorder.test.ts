import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { encodeProfile } from "../../source/output/pprof.js";
import { intervalsToData } from "../helpers/top-data.js";
import type { LiveBatch } from "../../source/profile/live.js";
import { DEFAULT_CONFIG, type TopConfig, type TopData } from "../../source/profile/top/window.js";
import { defaultRecordingName, Recorder } from "../../source/profile/recorder.js";
import { batch, sample, user } from "../ui/fake-source.js";

describe("recording", () => {
	test("default file name is tsprof-YYYYmmdd-HHMMSS.pb.gz in local time", () => {
		assert.equal(
			defaultRecordingName(new Date(2025, 0, 2, 3, 4, 5)),
			"tsprof-20250102-030405.pb.gz",
		);
	});

	test("merges identical samples, keeps distinct threads and addresses, counts its own lost samples", () => {
		const rec = new Recorder("x.pb.gz", 1000, 99, 5);
		const at = (address: bigint) => sample(1, [{ ...user("a"), address }], 1);
		rec.add(batch([at(1n), at(1n), at(2n), { ...at(1n), tid: 2 }]));
		const profile = rec.profile(3500, 8);
		assert.equal(rec.samples, 4);
		assert.deepEqual(
			profile.samples.map((s) => [s.tid, s.frames[0]?.address, s.value]),
			[
				[1, 1n, 2],
				[1, 2n, 1],
				[2, 1n, 1],
			],
		);
		assert.deepEqual(
			[
				profile.durationMs,
				profile.lostSamples,
				profile.frequencyHz,
				profile.unit,
			],
			[2500, 3, 99, "samples"],
		);
		// The recording is what pprof.ts writes: a gzipped profile.
		const file = encodeProfile(profile);
		assert.ok(gunzipSync(file).length > 0);
	});
});
