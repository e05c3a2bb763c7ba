/**
 * `tsprof top`: the composition root of the live view. It owns everything
 * with a side effect (the subscription, the refresh timer, the terminal, the
 * recording file, signals) so that the model and the components stay pure.
 */
import { writeFile as fsWriteFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import type { Instance } from "ink";
import { onExit } from "signal-exit";
import { UserError } from "../errors.js";
import { encodeProfile } from "../output/pprof.js";
import type { LiveSource, SamplerStats } from "../profile/live.js";
import { batchText, type HeaderInfo } from "../ui/top-format.js";
import { NO_FILTER } from "../profile/top/filter.js";
import { IntervalAccumulator } from "../profile/top/interval.js";
import { selfCpuPercent } from "../profile/top/rates.js";
import { snapshot } from "../profile/top/snapshot.js";
import { advance, DEFAULT_CONFIG, emptyTopData, samplesPerSecond, type TopData, windowMs, zero } from "../profile/top/window.js";
import { withWaitFrames } from "../profile/top/wait-frames.js";
import { defaultRecordingName, Recorder } from "../profile/recorder.js";
import { type PushConfig, Pusher, pushSummary } from "../output/push.js";
import { RecordingFile } from "../output/recording-file.js";

/** What the CLI parsed for `tsprof top`. */
export interface TopOptions {
	/** Sampling frequency the source was started with (`-F`). */
	readonly frequencyHz: number;
	/** Refresh interval, seconds (`-d/--delay`). */
	readonly delayS: number;
	/** Initial pid filter (`--pid` over a recording); empty for every process. */
	readonly pids: readonly number[];
	/**
	 * The pids the source samples, with every process they start (`--pid`
	 * live): shown in the header; the view does not filter by them, or the
	 * descendants would not show.
	 */
	readonly following?: readonly number[];
	/** Record from the start into this file (`--record`). */
	readonly record?: string;
	/** Stop after this many refreshes (`-n`); batch mode only counts printed snapshots. */
	readonly iterations?: number;
	/** The source measures off-CPU time too (`--off-cpu`): the view starts there, and `o` switches. */
	readonly offCpu?: boolean;
	/** Push profiles to a backend (`--push`). */
	readonly push?: PushConfig;
}

/** The outside world of `top`; everything defaults to the process's own. */
export interface TopIo {
	readonly stdout?: NodeJS.WriteStream;
	readonly stdin?: NodeJS.ReadStream;
	readonly stderr?: NodeJS.WriteStream;
	/** Draw the interactive view; defaults to whether stdout is a terminal. */
	readonly interactive?: boolean;
	/** Aborting it stops top as `q` does. */
	readonly signal?: AbortSignal;
	/** Install SIGINT/SIGTERM/SIGHUP handlers that stop top cleanly; default true. */
	readonly handleSignals?: boolean;
	/** Wall clock, ms since the epoch. */
	readonly now?: () => number;
	/**
	 * Writes a finished recording. Without it, recordings go to disk through
	 * RecordingFile, with a checkpoint every few seconds.
	 */
	readonly writeFile?: (file: string, data: Uint8Array) => Promise<void>;
}

const ENTER_ALT_SCREEN = "\u001B[?1049h";
const LEAVE_ALT_SCREEN = "\u001B[?1049l";
const SHOW_CURSOR = "\u001B[?25h";
const NOTICE_MS = 5000;
/** A recording on disk loses about this much (and a refresh) to a SIGKILL. */
const CHECKPOINT_MS = 2000;

/**
 * Loads Ink, React and the view. Without NODE_ENV, React picks its
 * development build, which about doubles the CPU of a frame (53 against
 * 25 ms at 160×45 before the rows were trimmed, bench/top-model.mjs --ink):
 * set it first, unless the user chose. Batch mode never loads React at all.
 */
async function loadView() {
	process.env.NODE_ENV ??= "production";
	// React is CommonJS: its exports object is the default export both in
	// Node and in the bundle (where named exports of a dynamic import are not).
	const [{ render }, { default: React }, { App }, { installFastOutput }] =
		await Promise.all([
			import("ink"),
			import("react"),
			import("../ui/App.js"),
			import("../ui/ink-output.js"),
		]);
	await installFastOutput();
	return { render, createElement: React.createElement, App };
}

function validate(opts: TopOptions, source: LiveSource): void {
	if (!Number.isFinite(opts.delayS) || opts.delayS <= 0) {
		throw new UserError(
			`the refresh delay must be a positive number of seconds, not ${opts.delayS}`,
		);
	}
	if (
		opts.iterations !== undefined &&
		(!Number.isInteger(opts.iterations) || opts.iterations < 1)
	) {
		throw new UserError(
			`the number of iterations must be a positive integer, not ${opts.iterations}`,
		);
	}
	for (const pid of opts.pids) {
		if (!source.pidExists(pid))
			throw new UserError(`no process with pid ${pid}`);
	}
}

/** A promise with its resolve function. */
function latch(): { promise: Promise<void>; open: () => void } {
	let open = () => {};
	const promise = new Promise<void>((resolve) => {
		open = resolve;
	});
	return { promise, open };
}

/**
 * Runs `tsprof top` over `source` until `q`, Ctrl-C, a signal, `io.signal`,
 * or `opts.iterations` refreshes. Draws with Ink on a terminal, prints a
 * text snapshot per refresh otherwise (like `top -b`). Writes the recording
 * if one is running, restores the terminal, and always closes `source`.
 * Throws UserError for bad options, a pid that does not exist, or a
 * recording that could not be written.
 */
export async function top(
	opts: TopOptions,
	source: LiveSource,
	io: TopIo = {},
): Promise<void> {
	const stdout = io.stdout ?? process.stdout;
	const stdin = io.stdin ?? process.stdin;
	const stderr = io.stderr ?? process.stderr;
	const now = io.now ?? Date.now;
	const writeFile =
		io.writeFile ??
		((file: string, bytes: Uint8Array) => fsWriteFile(file, bytes));
	const interactive = io.interactive ?? stdout.isTTY === true;
	const cleanups: (() => void)[] = [];
	try {
		validate(opts, source);
		const frequencyHz = source.stats().frequencyHz || opts.frequencyHz;
		const accumulator = new IntervalAccumulator(now());
		let data: TopData = emptyTopData({ ...DEFAULT_CONFIG, frequencyHz });
		// Off-CPU values are nanoseconds: one "sample" a nanosecond makes every
		// rate the share of a thread's time spent blocked.
		const offAccumulator = new IntervalAccumulator(now());
		let offData: TopData = emptyTopData({ ...DEFAULT_CONFIG, frequencyHz: 1e9 });
		let offCpuView = opts.offCpu === true;
		const shown = () => (offCpuView ? offData : data);
		let stats: SamplerStats = source.stats();
		const lost = () => source.stats().lostSamples;
		// Recordings on disk get checkpoints; one that cannot start or
		// append is written whole at the end instead, which reports the error.
		const onDisk = new Map<Recorder, RecordingFile>();
		const startRecorder = (file: string) => {
			const rec = new Recorder(file, now(), frequencyHz, lost());
			if (io.writeFile === undefined) {
				const disk = new RecordingFile(rec, lost, now);
				try {
					disk.start();
					onDisk.set(rec, disk);
				} catch {
					// reported by save()
				}
			}
			return rec;
		};
		const checkpoints = setInterval(() => {
			const disk = recorder && onDisk.get(recorder);
			try {
				disk?.checkpoint();
			} catch {
				if (recorder) onDisk.delete(recorder);
			}
		}, CHECKPOINT_MS);
		// A timer of its own must not keep the process alive after top returns.
		checkpoints.unref();
		cleanups.push(() => clearInterval(checkpoints));
		const pusher = opts.push && new Pusher(opts.push, { frequencyHz, lost, now });
		if (pusher) {
			const timer = setInterval(() => pusher.cut(), pusher.intervalMs);
			cleanups.push(() => clearInterval(timer));
		}
		let recorder =
			opts.record === undefined ? undefined : startRecorder(opts.record);
		const pendingWrites: Promise<string>[] = [];
		let notice: { text: string; untilMs: number } | undefined;

		// The interactive view draws the tables as soon as there are samples,
		// rather than a whole refresh interval after start: at once if they came
		// while it loaded, or through onFirstData when they come.
		let sawSamples = false;
		let onFirstData: (() => void) | undefined;
		cleanups.push(
			source.subscribe((batch) => {
				accumulator.add(batch);
				if (batch.offCpu) offAccumulator.add({ ...batch, samples: withWaitFrames(batch.offCpu) });
				recorder?.add(batch);
				pusher?.add(batch);
				if (!sawSamples && batch.samples.length > 0) {
					sawSamples = true;
					if (onFirstData) queueMicrotask(onFirstData);
				}
			}),
		);

		let usageAt = performance.now();
		let usage = process.cpuUsage();
		let self = { cpuPercent: 0, rssBytes: process.memoryUsage.rss() };
		const measureSelf = () => {
			const at = performance.now();
			const current = process.cpuUsage();
			self = {
				cpuPercent: selfCpuPercent(usage, current, at - usageAt),
				rssBytes: process.memoryUsage.rss(),
			};
			usage = current;
			usageAt = at;
		};

		const save = (rec: Recorder): Promise<string> => {
			const profile = rec.profile(now(), lost());
			const disk = onDisk.get(rec);
			onDisk.delete(rec);
			// Encoding throws synchronously on bad data; inside a key handler that would be a crash.
			return Promise.resolve()
				.then(() => {
					if (disk) {
						disk.finish();
						return;
					}
					return writeFile(rec.file, encodeProfile(profile));
				})
				.then(
					() => `wrote ${rec.file} (${rec.samples} samples)`,
					(error: unknown) => {
						throw new UserError(
							`could not write the recording ${rec.file}: ${error instanceof Error ? error.message : String(error)}`,
						);
					},
				);
		};

		const stop = latch();
		if (io.signal) {
			const { signal } = io;
			signal.addEventListener("abort", stop.open, { once: true });
			cleanups.push(() => signal.removeEventListener("abort", stop.open));
			if (signal.aborted) stop.open();
		}
		if (io.handleSignals ?? true) {
			for (const name of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
				process.on(name, stop.open);
				cleanups.push(() => process.off(name, stop.open));
			}
		}

		const refresh = () => {
			data = advance(data, accumulator.take(now()));
			offData = advance(offData, offAccumulator.take(now()));
			stats = source.stats();
			measureSelf();
		};
		// Every `delayS`: take what was sampled up to now, then `draw`. One
		// at a time; none once top is stopping.
		let stopping = false;
		cleanups.push(() => {
			stopping = true;
		});
		const everyRefresh = (draw: () => void) => {
			let flushing = false;
			const timer = setInterval(() => {
				if (flushing) return;
				flushing = true;
				(source.flush?.() ?? Promise.resolve()).finally(() => {
					flushing = false;
					if (!stopping) draw();
				});
			}, opts.delayS * 1000);
			cleanups.push(() => clearInterval(timer));
		};

		if (interactive) {
			const { render, createElement, App } = await loadView();
			let rerender = () => {};
			const show = (text: string) => {
				notice = { text, untilMs: now() + NOTICE_MS };
				rerender();
			};
			const handlers = {
				onQuit: stop.open,
				onZero: () => {
					accumulator.reset(now());
					offAccumulator.reset(now());
					data = zero(data);
					offData = zero(offData);
					rerender();
				},
				onToggleOffCpu: () => {
					if (!opts.offCpu) return show("off-CPU time is measured when top starts with --off-cpu");
					offCpuView = !offCpuView;
					rerender();
				},
				onToggleRecording: () => {
					if (recorder) {
						const written = save(recorder);
						pendingWrites.push(written);
						written.then(show, (error: Error) => show(error.message));
						recorder = undefined;
					} else {
						recorder = startRecorder(defaultRecordingName(new Date(now())));
					}
					rerender();
				},
				pidExists: (pid: number) => source.pidExists(pid),
			};
			const element = () =>
				createElement(App, {
					data: shown(),
					offCpu: offCpuView,
					stats,
					selfCpuPercent: self.cpuPercent,
					selfRssBytes: self.rssBytes,
					recording: recorder && {
						file: recorder.file,
						samples: recorder.samples,
					},
					notice: notice && now() < notice.untilMs ? notice.text : undefined,
					initialPids: opts.pids,
					following: opts.following,
					keys: stdin.isTTY === true,
					...handlers,
				});

			let instance: Instance | undefined;
			let restored = false;
			const restore = () => {
				if (restored) return;
				restored = true;
				// Ink first: its last frame must land in the alternate screen, not after we leave it.
				instance?.unmount();
				if (stdin.isTTY) stdin.setRawMode?.(false);
				stdout.write(SHOW_CURSOR + LEAVE_ALT_SCREEN);
			};
			// A crash or a signal that kills us must not leave the terminal in the alternate screen or raw.
			// signal-exit covers fatal signals; the 'exit' event is needed as well because Ink loads
			// signal-exit 3, whose process.emit hook bypasses version 4's, so onExit alone misses exits.
			cleanups.push(onExit(restore));
			process.once("exit", restore);
			cleanups.push(() => process.off("exit", restore));
			cleanups.push(restore);
			// Loading the view took a while, and the kernel has sampled all along:
			// the first frame shows that rather than an empty table.
			if (!sawSamples) await source.flush?.();
			stdout.write(ENTER_ALT_SCREEN);
			if (sawSamples) refresh();
			const ink = render(element(), {
				stdout,
				stdin,
				stderr,
				exitOnCtrlC: false,
				patchConsole: false,
			});
			instance = ink;
			rerender = () => ink.rerender(element());

			let refreshed = sawSamples;
			onFirstData = () => {
				if (refreshed) return;
				refreshed = true;
				refresh();
				rerender();
			};
			// The first samples come when the source delivers them: the session
			// drains early until then (ARCHITECTURE.md, Who owns what).
			let refreshes = 0;
			everyRefresh(() => {
				refreshed = true;
				refresh();
				rerender();
				if (opts.iterations !== undefined && ++refreshes >= opts.iterations)
					stop.open();
			});
			// Ink settles this when the tree throws: that is a crash to report, after the cleanups.
			const crashed = ink.waitUntilExit().then(() => undefined);
			await Promise.race([stop.promise, crashed]);
		} else {
			let printed = 0;
			// A reader that went away (`top -n 3 | head`) ends top quietly. The
			// listener stays: a write still queued when top stops fails after it,
			// and an 'error' nobody listens to would crash with a stack trace.
			let readerGone = false;
			stdout.on("error", () => {
				readerGone = true;
				stop.open();
			});
			everyRefresh(() => {
				refresh();
				const header: HeaderInfo = {
					stats,
					samplesPerSecond: samplesPerSecond(shown()),
					offCpu: offCpuView,
					selfCpuPercent: self.cpuPercent,
					selfRssBytes: self.rssBytes,
					filter: { ...NO_FILTER, pids: opts.pids },
					following: opts.following,
					windowS: windowMs(shown()) / 1000,
					paused: false,
					recording: recorder && {
						file: recorder.file,
						samples: recorder.samples,
					},
				};
				const view = snapshot(shown(), header.filter);
				if (!readerGone)
					stdout.write(batchText(view, header, new Date(now())));
				if (opts.iterations !== undefined && ++printed >= opts.iterations)
					stop.open();
			});
			await stop.promise;
		}

		// Stop taking batches (and drawing) before the last write, so the file ends where the screen did.
		runCleanups(cleanups);
		const final = recorder && save(recorder);
		const results = await Promise.allSettled(
			final ? [...pendingWrites, final] : pendingWrites,
		);
		const last = results[results.length - 1];
		if (final && last?.status === "fulfilled")
			stderr.write(`tsprof: ${last.value}\n`);
		if (pusher) {
			pusher.cut();
			await pusher.close();
			stderr.write(`tsprof: ${pushSummary(pusher.stats())}\n`);
		}
		const failed = results.find(
			(r): r is PromiseRejectedResult => r.status === "rejected",
		);
		if (failed) throw failed.reason;
	} finally {
		runCleanups(cleanups);
		await source.close();
	}
}

/** Runs and forgets the cleanups, newest first, so each runs once. */
function runCleanups(cleanups: (() => void)[]): void {
	while (cleanups.length > 0) {
		const cleanup = cleanups.pop() as () => void;
		try {
			cleanup();
		} catch {
			// Cleanup is best effort: one failure must not keep the terminal from being restored.
		}
	}
}
