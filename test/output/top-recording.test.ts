import "../ui/no-ci.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { top } from "../../source/commands/top.js";
import { decodeProfile } from "../../source/output/pprof.js";
import { FakeSource, systemBatch } from "../ui/fake-source.js";
import { FakeTtyOut } from "../ui/fake-terminal.js";

const dir = mkdtempSync(join(tmpdir(), "tsprof-toprec-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("top --record writes through the same recorder as record: valid on disk while it runs, complete at the end", async () => {
	const file = join(dir, "top.pb.gz");
	const source = new FakeSource({ initial: [systemBatch()], repeat: systemBatch(), everyMs: 20 });
	const stderr = new FakeTtyOut({ isTTY: false });
	const io = {
		stdout: new FakeTtyOut({ isTTY: false }) as unknown as NodeJS.WriteStream,
		stderr: stderr as unknown as NodeJS.WriteStream,
		handleSignals: false,
	};
	const running = top({ frequencyHz: 99, delayS: 0.5, pids: [], record: file, iterations: 7 }, source, io);
	// After the first checkpoint (2 s), the file holds what was sampled so far.
	await new Promise((r) => setTimeout(r, 2600));
	const midway = decodeProfile(readFileSync(file)).samples.reduce((n, s) => n + s.value, 0);
	assert.ok(midway > 0 && midway <= source.delivered, `${midway} of ${source.delivered} samples on disk midway`);
	await running;
	const end = decodeProfile(readFileSync(file));
	assert.equal(end.samples.reduce((n, s) => n + s.value, 0), source.delivered, "every delivered sample is in the file");
	assert.match(stderr.output, /^tsprof: wrote .*top\.pb\.gz \(\d+ samples\)\n$/);
});
