/**
 * Composition root of `tsprof top`: builds the live source (the kernel
 * sampler, or a replay of a recording) and hands it to the view.
 */
import { cpus } from "node:os";
import { UserError } from "../errors.js";
import type { LiveSource } from "../profile/live.js";
import { type TopOptions, top } from "./top.js";

/** The longest time between two drains while top runs. */
const TOP_DRAIN_INTERVAL_MS = 1000;
/** Until the first samples come, so the tables fill within the first frames. */
const TOP_EARLY_DRAIN_MS = 100;

/** `top`'s options as the CLI parsed them. */
export interface TopMainOptions extends TopOptions {
	/** Replay this recording instead of sampling. */
	readonly input?: string;
	/** `-- COMMAND ARGS...`: start it and profile it and its descendants. */
	readonly command?: readonly string[];
	/** With `offCpu`: blocks shorter than this are left out (`--min-block`). */
	readonly minBlockUs?: number;
}

export async function runTop(options: TopMainOptions): Promise<void> {
	let source: LiveSource;
	if (options.input) {
		const { replaySource } = await import("../profile/replay.js");
		const { readProfileFile } = await import("../output/pprof.js");
		source = replaySource(await readProfileFile(options.input));
	} else {
		const { preflight } = await import("../kernel/preflight.js");
		preflight();
		const { ProcFs } = await import("../process/procfs.js");
		const proc = new ProcFs();
		for (const pid of options.pids) if (!proc.exists(pid)) throw new UserError(`no process with pid ${pid}`);
		const { loadKernel } = await import("../kernel/addon.js");
		const { SamplerSession } = await import("../sampler/session.js");
		const { launch } = await import("./launch.js");
		// Started before the probes, released once they are armed; top owns the terminal.
		const launched = options.command ? launch(options.command, { quiet: true }) : undefined;
		// top flushes at every refresh, which paces the drains; the interval is
		// only a bound, for long refresh delays (the side-band rings hold about
		// 1.5 s of 1,000 process starts a second, and a storm shortens it).
		// --pid follows the processes and their descendants, as record does;
		// a launched command is followed the same way.
		const following = launched ? [launched.pid] : options.pids;
		try {
			source = await SamplerSession.start(
				{ kernel: loadKernel(), proc },
				{
					frequencyHz: options.frequencyHz,
					drainIntervalMs: TOP_DRAIN_INTERVAL_MS,
					earlyDrainMs: TOP_EARLY_DRAIN_MS,
					pids: following,
					...(options.offCpu ? { offCpu: { minBlockUs: options.minBlockUs ?? 100 } } : {}),
				},
				cpus().length,
			);
		} catch (error) {
			launched?.kill();
			throw error;
		}
		launched?.release();
		await top({ ...options, pids: [], following }, source);
		return;
	}
	await top(options, source);
}
