/**
 * A LiveSource over fixed batches, and builders for the samples in them, so
 * the view and the command are tested without a kernel.
 */
import type {
	LiveBatch,
	LiveSource,
	ProcessKey,
	SamplerStats,
} from "../../source/profile/live.js";
import type { Frame, Sample } from "../../source/profile/model.js";
import { kernelFrame, userFrame } from "../helpers/frames.js";

export const RATIO = "/opt/bench/ratio";
export const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";

export function user(name: string, module = RATIO): Frame {
	return userFrame(name, module);
}

export const kernel = kernelFrame;

/** A sample of process `pid`; `outerToInner` reads like a stack trace from main down. */
export function sample(
	pid: number,
	outerToInner: readonly Frame[],
	value = 1,
	over: Partial<Omit<Sample, "frames" | "value" | "pid">> = {},
): Sample {
	return {
		pid,
		tid: pid,
		startNs: 1000n,
		comm: "ratio",
		exe: RATIO,
		...over,
		frames: [...outerToInner].reverse(),
		value,
	};
}

export function batch(
	samples: readonly Sample[],
	exited: readonly ProcessKey[] = [],
	timeMs = 0,
): LiveBatch {
	return { samples, exited, timeMs };
}

/**
 * One second of a small system: `ratio` (pid 100) spends most of its time
 * in hot_alpha, some in hot_beta, some in a write syscall and some in an
 * unsymbolised library; `bash` (pid 200) reads a line.
 */
export function systemBatch(): LiveBatch {
	const main = [user("__libc_start_main", LIBC), user("main")];
	return batch([
		sample(100, [...main, user("hot_alpha")], 60),
		sample(100, [...main, user("hot_beta")], 20),
		sample(
			100,
			[
				...main,
				user("write", LIBC),
				kernel("entry_SYSCALL_64"),
				kernel("do_syscall_64"),
			],
			10,
		),
		sample(
			100,
			[
				...main,
				user("[unknown] 0x7f3a12 (no symbols)", "/opt/bench/libblob.so"),
			],
			3,
		),
		sample(
			100,
			[
				...main,
				user("[unknown] 0x7f3b40 (no symbols)", "/opt/bench/libblob.so"),
			],
			2,
		),
		sample(
			200,
			[
				user("main", "/usr/bin/bash"),
				user("readline", "/usr/lib/libreadline.so.8"),
			],
			5,
			{
				comm: "bash",
				exe: "/usr/bin/bash",
			},
		),
	]);
}

export const STATS: SamplerStats = {
	frequencyHz: 99,
	cpus: 4,
	samples: 0,
	lostSamples: 3,
	processesSeen: 2,
	deferredProcesses: 7,
	mapCleanup: { batchDeletes: 40, fallbackDeletes: 5, failures: 1 },
};

/** Options of {@link FakeSource}. */
export interface FakeSourceOptions {
	/** Delivered to each subscriber as soon as it subscribes. */
	readonly initial?: readonly LiveBatch[];
	/** Delivered again every `everyMs` while subscribed. */
	readonly repeat?: LiveBatch;
	readonly everyMs?: number;
	/** Pids that exist; default 100 and 200. */
	readonly pids?: readonly number[];
	readonly stats?: Partial<SamplerStats>;
}

/** Emits fixed batches; counts subscriptions and closes. */
export class FakeSource implements LiveSource {
	readonly listeners = new Set<(batch: LiveBatch) => void>();
	closed = 0;
	delivered = 0;
	readonly #options: FakeSourceOptions;
	#timer: NodeJS.Timeout | undefined;

	constructor(options: FakeSourceOptions = {}) {
		this.#options = options;
	}

	subscribe(listener: (batch: LiveBatch) => void): () => void {
		this.listeners.add(listener);
		for (const b of this.#options.initial ?? []) this.#deliver(listener, b);
		const { repeat, everyMs } = this.#options;
		if (repeat && everyMs && !this.#timer) {
			this.#timer = setInterval(() => this.emit(repeat), everyMs);
		}
		return () => {
			this.listeners.delete(listener);
			if (this.listeners.size === 0 && this.#timer) {
				clearInterval(this.#timer);
				this.#timer = undefined;
			}
		};
	}

	/** Delivers `b` to every subscriber now. */
	emit(b: LiveBatch): void {
		for (const listener of this.listeners) this.#deliver(listener, b);
	}

	#deliver(listener: (batch: LiveBatch) => void, b: LiveBatch): void {
		this.delivered += b.samples.reduce((sum, s) => sum + s.value, 0);
		listener(b);
	}

	stats(): SamplerStats {
		return { ...STATS, ...this.#options.stats, samples: this.delivered };
	}

	pidExists(pid: number): boolean {
		return (this.#options.pids ?? [100, 200]).includes(pid);
	}

	async close(): Promise<void> {
		this.closed++;
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = undefined;
		this.listeners.clear();
	}
}
