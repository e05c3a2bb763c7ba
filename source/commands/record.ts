/**
 * `tsprof record`: samples until the duration elapses or SIGINT/SIGTERM
 * arrives, then writes a gzipped pprof file. The file is also rewritten
 * every few seconds, so a SIGKILL loses at most that much.
 */
import { renameSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { UserError } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import { encodeProfile } from "../output/pprof.js";
import { ProfileAccumulator } from "../profile/accumulator.js";
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
}

/** The kernel and /proc to record from. */
export interface RecordParts {
	readonly kernel: Kernel;
	readonly proc: ProcReader;
}

const CHECKPOINT_MS = 5000;

export function formatBytes(n: number): string {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
	return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function writeAtomically(path: string, data: Buffer): void {
	const tmp = `${path}.tmp-${process.pid}`;
	writeFileSync(tmp, data);
	renameSync(tmp, path);
}

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
	const acc = new ProfileAccumulator();
	session.subscribe((batch) => acc.add(options.offCpu ? (batch.offCpu ?? []) : batch.samples));
	let drainError: Error | undefined;
	session.onError((error) => {
		drainError ??= error;
	});

	const measured = () => (options.offCpu ? `${(acc.value / 1e9).toFixed(3)} s blocked` : `${acc.value} samples`);
	const snapshot = () => {
		const s = session.stats();
		return acc.toProfile({
			unit: options.offCpu ? "nanoseconds" : "samples",
			frequencyHz: options.frequencyHz,
			startTimeMs,
			durationMs: Date.now() - startTimeMs,
			lostSamples: s.lostSamples,
		});
	};
	const save = () => writeAtomically(options.output, encodeProfile(snapshot()));
	// Fail early on an unwritable path rather than after the whole recording.
	try {
		save();
	} catch (error) {
		await session.close();
		throw new UserError(`cannot write ${options.output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
	}

	const progress = () => {
		const s = session.stats();
		const line = `recording ${((Date.now() - startTimeMs) / 1000).toFixed(0)}s: ${measured()}, ${s.lostSamples} lost`;
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
		// Checkpoints: every 5 s, unless encoding takes so long that they would
		// cost more than 1/20 of a core; then as often as that allows.
		const checkpoint = () => {
			const t0 = performance.now();
			save();
			const next = Math.max(CHECKPOINT_MS, 20 * (performance.now() - t0));
			timers.push(setTimeout(checkpoint, next));
		};
		timers.push(setTimeout(checkpoint, CHECKPOINT_MS));
	});

	await session.close();
	if (out.isTTY) out.write("\r\x1b[K");
	save();
	const s = session.stats();
	const size = statSync(options.output).size;
	const c = s.mapCleanup;
	out.write(
		`tsprof: wrote ${options.output}: ${measured()}, ${s.lostSamples} lost, ${acc.processCount()} processes, ${formatBytes(size)}` +
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
