/**
 * `tsprof record`: samples until the duration elapses or SIGINT/SIGTERM
 * arrives, then writes a gzipped pprof file. Every few seconds a checkpoint
 * appends what is new, so a SIGKILL loses at most that much. With `--push`
 * it also sends a profile to a backend every interval.
 */
import { cpus } from "node:os";
import { UserError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import { type PushConfig, Pusher, pushSummary } from "../output/push.js";
import { RecordingFile } from "../output/recording-file.js";
import type { LiveBatch } from "../profile/live.js";
import { Recorder } from "../profile/recorder.js";
import type { ProcReader } from "../process/procfs.js";
import { SamplerSession } from "../sampler/session.js";
import { describeExit, launch } from "./launch.js";

/** What `record` was asked to do. */
export interface RecordOptions {
	readonly output: string;
	/** Seconds; undefined: until a signal. */
	readonly durationS?: number;
	readonly frequencyHz: number;
	readonly pids: readonly number[];
	/** Record blocked time instead of CPU samples. */
	readonly offCpu?: { readonly minBlockUs: number };
	readonly stderr: NodeJS.WriteStream;
	/** `-- COMMAND ARGS...`: start it, record it and its descendants, stop when it exits. */
	readonly command?: readonly string[];
	/** Where and how to push profiles (`--push`); undefined: no push. */
	readonly push?: PushConfig;
}

/** The kernel and /proc to record from. */
export interface RecordParts {
	readonly kernel: Kernel;
	readonly proc: ProcReader;
}

/**
 * A SIGKILL loses at most this much and a drain interval (the promise is
 * 5 s): a checkpoint costs only what is new, so it can be often.
 */
const CHECKPOINT_MS = 2000;

export function formatBytes(n: number): string {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
	return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const RECORD_DRAIN_INTERVAL_MS = 1000;

export async function record(options: RecordOptions, parts: RecordParts): Promise<void> {
	for (const pid of options.pids) {
		if (!parts.proc.exists(pid)) throw new UserError(`no process with pid ${pid}`);
	}
	const out = options.stderr;
	// Started before the probes, released once they are armed.
	const launched = options.command ? launch(options.command) : undefined;
	let session: SamplerSession;
	try {
		session = await SamplerSession.start(
			{ kernel: parts.kernel, proc: parts.proc },
			{
				frequencyHz: options.frequencyHz,
				// The poller thread keeps the rings empty; a drain a second keeps
				// the per-drain costs (a promise, a decode, the timers) low, and a
				// storm of process starts still shortens it.
				drainIntervalMs: RECORD_DRAIN_INTERVAL_MS,
				pids: launched ? [...options.pids, launched.pid] : options.pids,
				...(options.offCpu ? { cpuSamples: false, offCpu: options.offCpu } : {}),
			},
			cpus().length,
		);
	} catch (error) {
		launched?.kill();
		throw error;
	}
	const startTimeMs = Date.now();
	const lost = () => session.stats().lostSamples;
	const rec = new Recorder(options.output, startTimeMs, options.frequencyHz, 0, options.offCpu ? "nanoseconds" : "samples");
	const samplesOf = (batch: LiveBatch) => (options.offCpu ? { samples: batch.offCpu ?? [] } : batch);
	session.subscribe((batch) => rec.add(samplesOf(batch)));
	let drainError: Error | undefined;
	session.onError((error) => {
		drainError ??= error;
	});
	const file = new RecordingFile(rec, lost);
	// Fail early on an unwritable path rather than after the whole recording.
	try {
		file.start();
	} catch (error) {
		await session.close();
		throw new UserError((error as Error).message);
	}
	const pusher = options.push && new Pusher(options.push, { frequencyHz: options.frequencyHz, lost, unit: rec.unit });
	const measured = () => (options.offCpu ? `${(rec.samples / 1e9).toFixed(3)} s blocked` : `${rec.samples} samples`);
	if (pusher) session.subscribe((batch) => pusher.add(samplesOf(batch)));
	let writeError: Error | undefined;

	const progress = () => {
		const line = `recording ${((Date.now() - startTimeMs) / 1000).toFixed(0)}s: ${measured()}, ${lost()} lost${pusher ? `; ${pushSummary(pusher.stats())}` : ""}`;
		if (out.isTTY) out.write(`\r${line}\x1b[K`);
		else out.write(`${line}\n`);
	};

	await new Promise<void>((resolve) => {
		const timers: NodeJS.Timeout[] = [];
		const stop = () => {
			for (const t of timers) clearTimeout(t);
			process.off("SIGINT", stop);
			process.off("SIGTERM", stop);
			resolve();
		};
		process.on("SIGINT", stop);
		process.on("SIGTERM", stop);
		void launched?.exited.then(stop);
		launched?.release();
		if (options.durationS !== undefined) timers.push(setTimeout(stop, options.durationS * 1000));
		timers.push(setInterval(progress, out.isTTY ? 1000 : 5000));
		const checkpoint = () => {
			try {
				file.checkpoint();
			} catch (error) {
				writeError = error as Error;
				stop();
			}
		};
		timers.push(setInterval(checkpoint, CHECKPOINT_MS));
		if (pusher) timers.push(setInterval(() => pusher.cut(), pusher.intervalMs));
	});

	await session.close();
	if (out.isTTY) out.write("\r\x1b[K");
	let size = 0;
	let compactError: string | undefined;
	if (!writeError) {
		try {
			({ size, compactError } = file.finish());
		} catch (error) {
			writeError = error as Error;
		}
	}
	if (pusher) {
		pusher.cut();
		await pusher.close();
		out.write(`tsprof: ${pushSummary(pusher.stats())}\n`);
	}
	if (writeError) throw new UserError(`${writeError.message}; ${rescue(file, rec.samples)}`);
	if (compactError) out.write(`tsprof: could not compact ${options.output} (${compactError}); it is complete as written\n`);
	const s = session.stats();
	const c = s.mapCleanup;
	out.write(
		`tsprof: wrote ${options.output}: ${measured()}, ${s.lostSamples} lost, ${rec.processCount()} processes, ${formatBytes(size)}` +
			` (map cleanup: ${c.batchDeletes} batch deletes, ${c.fallbackDeletes} fallback deletes, ${c.failures} failures)\n`,
	);
	const loss = session.lossDetails();
	if (options.offCpu) {
		out.write(`tsprof: off-CPU: ${loss.offCpuBlocks} blocks, ${loss.lostOffCpuBlocks} blocks lost\n`);
	} else {
		out.write(
			`tsprof: user stacks: ${Math.round(loss.stackBytesPerSample)} bytes copied per sample, ${loss.truncatedUserStacks} samples with a truncated stack\n`,
		);
	}
	if (loss.kernelStackErrors + loss.lostEvents + loss.lostSidebandRecords > 0) {
		out.write(
			`tsprof: of the lost: ${loss.kernelStackErrors} kernel stacks not taken; also ${loss.lostEvents} process events and ${loss.lostSidebandRecords} side-band records dropped\n`,
		);
	}
	if (drainError) out.write(`tsprof: warning: a drain failed: ${drainError.message}\n`);
	if (launched) {
		// Stopped by --duration or a signal: the command keeps running, as under perf record.
		const ended = await Promise.race([launched.exited, new Promise<undefined>((r) => setTimeout(r, 0))]);
		if (ended) {
			const { line, exitCode } = describeExit(launched.name, ended);
			out.write(`tsprof: ${line}\n`);
			process.exitCode = exitCode;
		}
	}
}

/** Saves the samples in memory elsewhere and says where they went. */
function rescue(file: RecordingFile, samples: number): string {
	try {
		return `the ${samples} samples recorded are in ${file.rescue()}`;
	} catch (error) {
		return `the ${samples} samples recorded could not be saved elsewhere either (${(error as Error).message})`;
	}
}
