/**
 * `tsprof top -n 3 | head -1`: batch output into a pipe that closes early ends
 * top quietly (exit 0, or the usual quiet SIGPIPE), with no stack trace and
 * no process left behind, over a recording and, as root, live.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import { top } from "../../source/commands/top.js";
import { encodeProfile } from "../../source/output/pprof.js";
import { cliPath, requireKernel } from "../helpers/root.js";
import { FakeSource, systemBatch } from "../ui/fake-source.js";

const dir = mkdtempSync(join(tmpdir(), "tsprof-pipe-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Ended {
	readonly code: number | null;
	readonly signal: NodeJS.Signals | null;
	readonly stderr: string;
	readonly firstLine: string;
}

/** Runs the CLI, reads its first line as head -1 would, then closes the pipe. */
function headOne(args: readonly string[], timeoutMs: number): Promise<Ended> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [cliPath, ...args], { stdio: ["ignore", "pipe", "pipe"] });
		let stderr = "";
		let out = "";
		let firstLine = "";
		child.stderr.on("data", (chunk) => {
			stderr += String(chunk);
		});
		child.stdout.on("data", (chunk) => {
			out += String(chunk);
			if (firstLine === "" && out.includes("\n")) {
				firstLine = out.slice(0, out.indexOf("\n"));
				child.stdout.destroy();
			}
		});
		const timer = setTimeout(() => {
			child.kill("SIGKILL");
			reject(new Error(`tsprof ${args.join(" ")} still ran ${timeoutMs} ms after its reader went away`));
		}, timeoutMs);
		child.on("exit", (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stderr, firstLine });
		});
	});
}

function assertQuiet(ended: Ended): void {
	assert.match(ended.firstLine, /^tsprof top /);
	assert.ok(
		ended.code === 0 || ended.signal === "SIGPIPE",
		`exit code ${ended.code}, signal ${ended.signal}`,
	);
	assert.equal(ended.stderr, "", "nothing on stderr: no EPIPE, no stack trace");
}

test("top -n over a recording into a pipe closed after one line exits quietly", async () => {
	const file = join(dir, "rec.pb.gz");
	writeFileSync(
		file,
		encodeProfile({ samples: systemBatch().samples, unit: "samples", frequencyHz: 99, startTimeMs: 0, durationMs: 1000, lostSamples: 0 }),
	);
	// The failure was a race with the queued writes: try it several times.
	for (let i = 0; i < 5; i++) {
		assertQuiet(await headOne(["top", "-n", "3", "-d", "0.05", "--input", file], 30_000));
	}
});

test("live top -n into a closed pipe exits quietly and detaches", { skip: requireKernel() }, async () => {
	assertQuiet(await headOne(["top", "-n", "3", "-d", "0.2"], 60_000));
});

test("a write that fails after top stopped (the reader left during the last snapshot) is no crash", async () => {
	let writes = 0;
	let failed = 0;
	// Like a pipe whose reader left: the first snapshot went into the pipe's
	// buffer, the next write fails a moment later, after -n has stopped top.
	const stdout = new Writable({
		write(_chunk, _encoding, done) {
			if (writes++ === 0) return done();
			setTimeout(() => {
				failed++;
				done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
			}, 30);
		},
	});
	const source = new FakeSource({ initial: [systemBatch()] });
	await top(
		{ frequencyHz: 99, delayS: 0.01, pids: [], iterations: 2 },
		source,
		{ stdout: stdout as unknown as NodeJS.WriteStream, interactive: false, handleSignals: false },
	);
	await new Promise((resolve) => setTimeout(resolve, 100));
	assert.equal(failed, 1, "the second snapshot's write failed after top returned");
	assert.equal(source.closed, 1, "the source was closed");
});
