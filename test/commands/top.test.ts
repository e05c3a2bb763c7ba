import "../ui/no-ci.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { afterEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { type TopIo, type TopOptions, top } from "../../source/commands/top.js";
import { UserError } from "../../source/errors.js";
import type { LiveBatch } from "../../source/profile/live.js";
import { decodeProfile } from "../../source/output/pprof.js";
import {
	batch,
	FakeSource,
	kernel,
	sample,
	systemBatch,
	user,
} from "../ui/fake-source.js";
import { FakeTtyIn, FakeTtyOut, until } from "../ui/fake-terminal.js";

const stdripped = (text: string) => stripVTControlCharacters(text);
const ENTER_ALT = "\u001B[?1049h";
const LEAVE_ALT = "\u001B[?1049l";
const SHOW_CURSOR = "\u001B[?25h";

const OPTIONS: TopOptions = { frequencyHz: 99, delayS: 0.05, pids: [] };

/** Captures recordings instead of writing files. */
function fileSink() {
	const files = new Map<string, Uint8Array>();
	return {
		files,
		writeFile: async (file: string, bytes: Uint8Array) => {
			files.set(file, bytes);
		},
	};
}

function batchIo(over: Partial<TopIo> = {}) {
	const stdout = new FakeTtyOut({ isTTY: false });
	const stderr = new FakeTtyOut({ isTTY: false });
	const io: TopIo = {
		stdout: stdout as unknown as NodeJS.WriteStream,
		stderr: stderr as unknown as NodeJS.WriteStream,
		handleSignals: false,
		...over,
	};
	return { stdout, stderr, io };
}

/** Stops every top a test started, so one that failed midway leaves none running. */
const stops = new Set<AbortController>();
afterEach(() => {
	for (const stop of stops) stop.abort();
	stops.clear();
});

function ttyIo(over: Partial<TopIo> = {}) {
	const stop = new AbortController();
	stops.add(stop);
	const stdout = new FakeTtyOut({ columns: 100, rows: 30 });
	const stderr = new FakeTtyOut({ isTTY: false });
	const stdin = new FakeTtyIn();
	const io: TopIo = {
		stdout: stdout as unknown as NodeJS.WriteStream,
		stderr: stderr as unknown as NodeJS.WriteStream,
		stdin: stdin as unknown as NodeJS.ReadStream,
		handleSignals: false,
		signal: stop.signal,
		...over,
	};
	return { stdout, stderr, stdin, io };
}

describe("top in batch mode (no TTY)", () => {
	test("prints one text snapshot per interval and stops after -n snapshots, without Ink", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const { stdout, io } = batchIo();
		await top({ ...OPTIONS, iterations: 2 }, source, io);
		const out = stdout.output;
		assert.equal(out.match(/^tsprof top {2}99 Hz {2}4 CPUs/gm)?.length, 2, out);
		assert.ok(!out.includes("\u001B"), "plain text: no escape sequences");
		assert.match(out, /^ +PID COMM +CPU% +SAMPLES +UNK% EXE$/m);
		// 5 of ratio's 305 frames are unnamed; none of bash's.
		assert.match(out, /^ +100 ratio +\d+\.\d +95 +1\.6 \/opt\/bench\/ratio$/m);
		assert.match(out, /^ +200 bash +\d+\.\d +5 +0\.0 \/usr\/bin\/bash$/m);
		// Sorted by total, as perf top -g and the interactive view: callers first.
		assert.match(out, /^ +SELF% +▼TOTAL% +FUNCTION +MODULE$/m);
		const functions = out
			.split("\n")
			.filter((l) => /^ +\d+\.\d +\d+\.\d \[[.k]\] /.test(l))
			.slice(0, 4)
			.map((l) => l.split(/\s+/).slice(1, 5).join(" "));
		assert.deepEqual(functions, [
			"0.0 95.0 [.] __libc_start_main",
			"0.0 95.0 [.] main",
			"60.0 60.0 [.] hot_alpha",
			"20.0 20.0 [.] hot_beta",
		]);
		assert.match(out, /^ +10\.0 +10\.0 \[k\] do_syscall_64 +\[kernel\]$/m);
		assert.equal(source.closed, 1);
		assert.equal(source.listeners.size, 0);
	});

	test("each refresh first flushes the source, so a snapshot shows what was sampled up to it", async () => {
		const source = new FakeSource();
		let flushes = 0;
		const flushing = Object.assign(source, {
			flush: async () => {
				flushes++;
				// The first refresh finds nothing delivered but what the flush brings.
				source.emit(systemBatch());
			},
		});
		const { stdout, io } = batchIo();
		await top({ ...OPTIONS, iterations: 2 }, flushing, io);
		assert.equal(flushes, 2);
		const snapshots = stdout.output.split(/^(?=tsprof top )/m);
		assert.equal(snapshots.length, 2);
		// The window holds both intervals by the second snapshot.
		assert.match(snapshots[0] ?? "", /^ +100 ratio +[\d.]+ +95 +1\.6 \/opt\/bench\/ratio$/m);
		assert.match(snapshots[1] ?? "", /^ +100 ratio +[\d.]+ +190 +1\.6 \/opt\/bench\/ratio$/m);
	});

	test("--pid filters the snapshot", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const { stdout, io } = batchIo();
		await top({ ...OPTIONS, pids: [200], iterations: 1 }, source, io);
		assert.match(stdout.output, /filter: pid 200/);
		assert.match(stdout.output, /^ +200 bash/m);
		assert.doesNotMatch(stdout.output, /ratio/);
	});

	test("--record writes a gzipped pprof file of every sample, at the end", async () => {
		const source = new FakeSource({
			initial: [systemBatch()],
			repeat: systemBatch(),
			everyMs: 10,
		});
		const sink = fileSink();
		const { stderr, io } = batchIo({ writeFile: sink.writeFile });
		await top({ ...OPTIONS, record: "out.pb.gz", iterations: 2 }, source, io);
		const bytes = sink.files.get("out.pb.gz");
		assert.ok(bytes, "written");
		assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b]);
		const profile = decodeProfile(bytes);
		const total = profile.samples.reduce((sum, s) => sum + s.value, 0);
		assert.equal(
			total,
			source.delivered,
			"every delivered sample is in the file",
		);
		assert.equal(profile.frequencyHz, 99);
		assert.ok(
			profile.samples.some(
				(s) => s.comm === "bash" && s.frames.some((f) => f.name === "readline"),
			),
		);
		assert.match(
			stderr.output,
			/^tsprof: wrote out\.pb\.gz \(\d+ samples\)\n$/,
		);
	});

	test("a recording that cannot be written is a UserError, and the source is still closed", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const { io } = batchIo({
			writeFile: async () => {
				throw new Error("EACCES: permission denied");
			},
		});
		await assert.rejects(
			top({ ...OPTIONS, record: "/nope.pb.gz", iterations: 1 }, source, io),
			(error: unknown) => {
				assert.ok(error instanceof UserError);
				assert.match(
					error.message,
					/could not write the recording \/nope\.pb\.gz: EACCES/,
				);
				return true;
			},
		);
		assert.equal(source.closed, 1);
	});

	test("an abort signal stops it", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const controller = new AbortController();
		const { stdout, io } = batchIo({ signal: controller.signal });
		const running = top({ ...OPTIONS, delayS: 0.02 }, source, io);
		await until(() => stdout.output.includes("hot_alpha"), 3000, "a snapshot");
		controller.abort();
		await running;
		assert.equal(source.closed, 1);
	});

	test("SIGTERM and SIGINT stop it cleanly", async () => {
		for (const signal of ["SIGTERM", "SIGINT"] as const) {
			const source = new FakeSource({ initial: [systemBatch()] });
			const { io } = batchIo({ handleSignals: true });
			const before = process.listenerCount(signal);
			const running = top({ ...OPTIONS, delayS: 0.02 }, source, io);
			await until(
				() => process.listenerCount(signal) > before,
				3000,
				"handlers",
			);
			process.emit(signal);
			await running;
			assert.equal(source.closed, 1);
			assert.equal(process.listenerCount(signal), before, "handlers removed");
		}
	});
});

describe("top's off-CPU view", () => {
	const blocked = (): LiveBatch => ({
		...systemBatch(),
		offCpu: [
			sample(300, [user("main"), user("reader_wait"), kernel("anon_pipe_read")], 1.5e9, { tid: 301, comm: "reader", waitReason: "pipe" }),
			sample(300, [user("main"), user("locker_wait"), user("[unknown] 0x7f10 (no symbols)", "/opt/bench/libblob.so"), kernel("futex_wait")], 0.5e9, { tid: 302, comm: "reader", waitReason: "lock" }),
		],
	});

	test("--off-cpu starts in blocked time: per process, and per wait reason as the innermost frame", async () => {
		const source = new FakeSource({ initial: [blocked()] });
		const { stdout, io } = batchIo();
		await top({ ...OPTIONS, offCpu: true, iterations: 1 }, source, io);
		const out = stdout.output;
		assert.match(out, /^tsprof top {2}OFF-CPU {2}blocked /m);
		assert.match(out, /^ +PID COMM +WAIT% +BLOCKED +UNK% EXE$/m);
		// UNK% over blocked time: 0.5 s × 1 unnamed frame of 1.5 s × 3 + 0.5 s × 4 frames; [wait] is no frame.
		assert.match(out, /^ +300 reader +[\d.]+ +2\.00s +7\.7 /m);
		assert.match(out, /^ +75\.0 +75\.0 \[\.\] \[wait\] pipe +\[wait\]$/m);
		assert.match(out, /^ +25\.0 +25\.0 \[\.\] \[wait\] lock +\[wait\]$/m);
		assert.match(out, /^ +0\.0 +75\.0 \[\.\] reader_wait /m);
		assert.ok(!/hot_alpha/.test(out), "CPU samples are not in the off-CPU view");
	});

	test("o switches between on-CPU samples and off-CPU time, and says when off-CPU was not asked for", async () => {
		for (const offCpu of [true, false]) {
			const source = new FakeSource({ initial: [blocked()], repeat: blocked() });
			const { stdout, stdin, io } = ttyIo();
			const run = top({ ...OPTIONS, offCpu }, source, io);
			await until(() => /hot_alpha|reader_wait/.test(stdripped(stdout.output)), 5000, "first frame");
			stdin.write("o");
			if (offCpu) {
				await until(() => /hot_alpha/.test(stdripped(stdout.output)), 5000, "the CPU view after o");
			} else {
				await until(() => /starts with --off-cpu/.test(stdripped(stdout.output)), 5000, "the notice");
				assert.ok(!/reader_wait/.test(stdripped(stdout.output)));
			}
			stdin.write("q");
			await run;
		}
	});
});

describe("top's errors", () => {
	test("a --pid that does not exist is one clear UserError; the source is closed", async () => {
		const source = new FakeSource();
		await assert.rejects(
			top({ ...OPTIONS, pids: [100, 4242] }, source, batchIo().io),
			{
				name: "UserError",
				message: "no process with pid 4242",
			},
		);
		assert.equal(source.closed, 1);
	});

	test("a refresh delay that is not a positive number is refused", async () => {
		for (const delayS of [0, -1, Number.NaN]) {
			const source = new FakeSource();
			await assert.rejects(
				top({ ...OPTIONS, delayS }, source, batchIo().io),
				UserError,
			);
			assert.equal(source.closed, 1);
		}
		await assert.rejects(
			top({ ...OPTIONS, iterations: 0 }, new FakeSource(), batchIo().io),
			UserError,
		);
	});
});

describe("top on a terminal", () => {
	test("draws in the alternate screen at once, quits on q, restores the terminal", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const { stdout, stdin, io } = ttyIo();
		// A long delay: the first frame must not wait for the first refresh.
		const running = top({ ...OPTIONS, delayS: 30 }, source, io);
		await until(
			() => stdout.output.includes("tsprof top"),
			3000,
			"the first frame",
		);
		assert.ok(stdout.output.startsWith(ENTER_ALT));
		assert.equal(stdin.isRaw, true);
		stdin.write("q");
		await running;
		assert.equal(stdin.isRaw, false);
		assert.ok(
			stdout.output.endsWith(SHOW_CURSOR + LEAVE_ALT),
			JSON.stringify(stdout.output.slice(-40)),
		);
		assert.equal(source.closed, 1);
		assert.equal(source.listeners.size, 0);
	});

	test("refreshes show the samples; Ctrl-C quits too", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const { stdout, stdin, io } = ttyIo();
		const running = top({ ...OPTIONS, delayS: 0.05 }, source, io);
		await until(() => stdout.output.includes("hot_alpha"), 3000, "a refresh");
		stdin.write("\u0003");
		await running;
		assert.ok(stdout.output.endsWith(LEAVE_ALT));
	});

	test("r starts a recording with a dated name, r again writes it; --record writes on quit", async () => {
		const source = new FakeSource({
			initial: [systemBatch()],
			repeat: systemBatch(),
			everyMs: 10,
		});
		const sink = fileSink();
		const { stdout, stdin, io } = ttyIo({ writeFile: sink.writeFile });
		const running = top({ ...OPTIONS, record: "start.pb.gz" }, source, io);
		await until(
			() => stdout.output.includes("REC start.pb.gz"),
			3000,
			"the recording in the header",
		);
		stdin.write("r");
		await until(() => sink.files.has("start.pb.gz"), 3000, "the first file");
		await until(
			() => /wrote start\.pb\.gz/.test(stdout.output),
			3000,
			"the notice",
		);
		stdin.write("r");
		await until(
			() =>
				/REC tsprof-\d{8}-\d{6}\.pb\.gz \([1-9]\d* samples\)/.test(
					stdout.output,
				),
			3000,
			"samples in the second recording",
		);
		stdin.write("q");
		await running;
		const names = [...sink.files.keys()];
		assert.equal(names.length, 2);
		assert.match(names[1] ?? "", /^tsprof-\d{8}-\d{6}\.pb\.gz$/);
		for (const bytes of sink.files.values())
			assert.ok(decodeProfile(bytes).samples.length > 0);
	});

	test("every frame fits in rows - 1 lines and the width, with 200-character names, at 160x45 and 80x24", async () => {
		const mangled = `_ZN3app${"VeryLongNamespaceComponent".repeat(8)}9TransformINS_5ValueEEEvRKT_`;
		assert.ok(mangled.length > 200);
		const long = batch(
			Array.from({ length: 40 }, (_, i) =>
				sample(
					100,
					[
						user("main"),
						user(`${mangled}${i}`, `/opt/${"x".repeat(150)}/lib.so`),
						user(`leaf_${"y".repeat(180)}_${i}`),
					],
					40 - i,
				),
			),
		);
		for (const [columns, rows] of [
			[160, 45],
			[80, 24],
		] as const) {
			const source = new FakeSource({
				initial: [systemBatch(), long],
				repeat: long,
				everyMs: 10,
			});
			const { stdout, stdin, io } = ttyIo();
			stdout.resize(columns, rows);
			const running = top({ ...OPTIONS, delayS: 0.03 }, source, io);
			await until(() => stdout.output.includes("leaf_"), 3000, "a refresh");
			for (const key of ["\t", "\u001B[B", "s", "?", "?", "\r"]) {
				stdin.write(key);
				await new Promise((resolve) => setTimeout(resolve, 60));
			}
			stdin.write("q");
			await running;
			// Each frame is one write: erase the previous one, then the lines.
			const frames = stdout.chunks
				.map((chunk) => stripVTControlCharacters(chunk))
				.filter((text) => text.includes("tsprof top"));
			assert.ok(frames.length >= 3, `${frames.length} frames`);
			for (const frame of frames) {
				const lines = frame.replace(/\n$/, "").split("\n");
				assert.ok(
					lines.length <= rows - 1,
					`${columns}x${rows}: a frame of ${lines.length} lines`,
				);
				for (const line of lines)
					assert.ok(line.length <= columns, `${columns}x${rows}: ${line}`);
			}
			assert.ok(frames.some((f) => /\[\.\] _ZN3appVeryLong\S*… /.test(f)));
			assert.ok(
				frames.some((f) => /CALLERS/.test(f)),
				"the call graph",
			);
		}
	});

	test("-n stops the interactive view too", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const { stdout, io } = ttyIo();
		await top({ ...OPTIONS, delayS: 0.02, iterations: 2 }, source, io);
		assert.ok(stdout.output.endsWith(LEAVE_ALT));
	});

	test("SIGTERM restores the terminal", async () => {
		const source = new FakeSource({ initial: [systemBatch()] });
		const { stdout, stdin, io } = ttyIo({ handleSignals: true });
		const running = top({ ...OPTIONS, delayS: 30 }, source, io);
		await until(
			() => stdout.output.includes("tsprof top"),
			3000,
			"the first frame",
		);
		process.emit("SIGTERM");
		await running;
		assert.equal(stdin.isRaw, false);
		assert.ok(stdout.output.endsWith(LEAVE_ALT));
	});

	test("a crash restores the terminal, with or without CI", () => {
		const child = fileURLToPath(
			new URL("../ui/crash-child.ts", import.meta.url),
		);
		for (const ci of [undefined, "true"]) {
			const env = { ...process.env, CI: ci };
			if (ci === undefined) delete env.CI;
			const result = spawnSync(process.execPath, ["--import", "tsx", child], {
				encoding: "utf8",
				timeout: 20_000,
				env,
			});
			assert.notEqual(result.status, 0);
			assert.match(result.stderr, /deliberate crash/);
			assert.ok(
				result.stdout.startsWith(ENTER_ALT),
				JSON.stringify(result.stdout.slice(0, 40)),
			);
			const left = result.stdout.lastIndexOf(LEAVE_ALT);
			assert.ok(left > 0, "left the alternate screen");
			assert.ok(
				result.stdout.slice(0, left).includes("tsprof top"),
				"the view was drawn in the alternate screen",
			);
			// Ink's own exit hook may still show the cursor; nothing visible may follow.
			assert.equal(
				result.stdout
					.slice(left + LEAVE_ALT.length)
					.replaceAll(SHOW_CURSOR, ""),
				"",
			);
		}
	});
});
