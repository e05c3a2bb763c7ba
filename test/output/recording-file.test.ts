import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { decodeProfile } from "../../source/output/pprof.js";
import { RecordingFile } from "../../source/output/recording-file.js";
import { Recorder } from "../../source/profile/recorder.js";
import { F, sample } from "../helpers/profiles.js";

const dir = mkdtempSync(join(tmpdir(), "tsprof-recfile-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const total = (p: ReturnType<typeof decodeProfile>) => p.samples.reduce((n, s) => n + s.value, 0);
const valueOf = (p: ReturnType<typeof decodeProfile>, name: string) =>
	p.samples.filter((s) => s.frames[0]?.name === name).reduce((n, s) => n + s.value, 0);

describe("RecordingFile", () => {
	test("the file is a whole profile after every checkpoint, and compacts to the same profile", () => {
		let clock = 1000;
		const rec = new Recorder(join(dir, "a.pb.gz"), clock, 99, 0);
		const file = new RecordingFile(rec, () => 3, () => clock);
		file.start();
		assert.equal(decodeProfile(readFileSync(rec.file)).samples.length, 0, "the header alone is a valid, empty profile");
		const sizes: number[] = [];
		for (let i = 1; i <= 5; i++) {
			rec.add({ samples: [sample(42, 42, "ratio", [F.alpha, F.loop, F.main], 3), sample(42, 42, "ratio", [F.beta, F.loop, F.main], 1)] });
			if (i === 3) rec.add({ samples: [sample(77, 77, "node", [F.js, F.main], 2)] });
			clock += 2000;
			const appended = file.checkpoint();
			sizes.push(appended);
			const back = decodeProfile(readFileSync(rec.file));
			assert.equal(total(back), 4 * i + (i >= 3 ? 2 : 0), `checkpoint ${i} holds everything so far`);
			assert.equal(valueOf(back, "hot_alpha"), 3 * i);
			assert.equal(back.durationMs, 2000 * i);
			assert.equal(back.lostSamples, 3);
			assert.equal(back.frequencyHz, 99);
		}
		// A checkpoint with nothing new to name appends only samples: tens of bytes.
		assert.ok((sizes[4] as number) < (sizes[0] as number), `later chunks are smaller: ${sizes}`);
		const before = decodeProfile(readFileSync(rec.file));
		const appendedSize = statSync(rec.file).size;
		const { size, compactError } = file.finish();
		assert.equal(compactError, undefined);
		const after = decodeProfile(readFileSync(rec.file));
		assert.equal(size, statSync(rec.file).size);
		assert.ok(size < appendedSize, `compaction shrinks ${appendedSize} to ${size}`);
		assert.equal(total(after), total(before));
		assert.equal(valueOf(after, "hot_alpha"), valueOf(before, "hot_alpha"));
		// Identical stacks that came in several chunks are one sample again.
		assert.equal(after.samples.length, 3);
	});

	test("a cut at any member boundary is a valid profile; a cut inside a member is refused", () => {
		const rec = new Recorder(join(dir, "b.pb.gz"), 0, 99, 0);
		const file = new RecordingFile(rec, () => 0, () => 5000);
		file.start();
		const ends = [statSync(rec.file).size];
		for (let i = 0; i < 4; i++) {
			rec.add({ samples: [sample(42, 42 + i, "ratio", [F.alpha, F.loop, F.main], 1)] });
			file.checkpoint();
			ends.push(statSync(rec.file).size);
		}
		const bytes = readFileSync(rec.file);
		for (const [i, end] of ends.entries()) assert.equal(total(decodeProfile(bytes.subarray(0, end))), i);
		assert.throws(() => decodeProfile(bytes.subarray(0, (ends[3] as number) - 3)), /gzip/);
	});

	test("a full disk: the append fails with one clear message, and rescue keeps every sample", () => {
		const rec = new Recorder("/dev/full", 0, 99, 0);
		const file = new RecordingFile(rec, () => 0);
		assert.throws(() => file.start(), { message: "cannot write /dev/full: no space left on device" });
		rec.add({ samples: [sample(42, 42, "ratio", [F.alpha], 7)] });
		const where = file.rescue();
		try {
			assert.equal(total(decodeProfile(readFileSync(where))), 7);
		} finally {
			rmSync(where, { force: true });
		}
	});

	test("an unwritable path fails at start, naming the reason", () => {
		const rec = new Recorder(join(dir, "no", "such", "dir.pb.gz"), 0, 99, 0);
		assert.throws(() => new RecordingFile(rec, () => 0).start(), /cannot write .*dir\.pb\.gz: no such directory$/);
	});

	test("start empties a file that was there", () => {
		const path = join(dir, "old.pb.gz");
		writeFileSync(path, "x".repeat(10_000));
		const rec = new Recorder(path, 0, 99, 0);
		new RecordingFile(rec, () => 0).start();
		assert.equal(decodeProfile(readFileSync(path)).samples.length, 0);
	});
});

describe("Recorder", () => {
	test("takeChanges gives what each stack gained since the last call", () => {
		const rec = new Recorder("", 0, 99, 0);
		rec.add({ samples: [sample(42, 42, "ratio", [F.alpha], 2), sample(42, 42, "ratio", [F.beta], 1)] });
		assert.deepEqual(rec.takeChanges().map((s) => [s.frames[0]?.name, s.value]), [["hot_alpha", 2], ["hot_beta", 1]]);
		assert.deepEqual(rec.takeChanges(), []);
		rec.add({ samples: [sample(42, 42, "ratio", [F.alpha], 5)] });
		assert.deepEqual(rec.takeChanges().map((s) => [s.frames[0]?.name, s.value]), [["hot_alpha", 5]]);
		assert.deepEqual(rec.profile(10, 0).samples.map((s) => s.value), [7, 1]);
	});
});
