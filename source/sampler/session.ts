/**
 * A sampling session: attach all -> arm -> scan /proc -> drain ticks.
 * Each drain is applied in order: lifecycle events and side-band records
 * (merged by time) to the process table, then the samples, which are
 * symbolized against the process and image they were taken in. Only after a
 * drain has been fully processed are processes that exited before it began
 * released (DESIGN.md principle 2).
 */
import { performance } from "node:perf_hooks";
import { type CountRecord, decodeDrain, type Drain, type KernelEvent } from "../kernel/abi.js";
import type { Kernel, KernelSession } from "../kernel/kernel.js";
import { mergeSideband, type SidebandRecord } from "../kernel/perf-records.js";
import type { LiveBatch, LiveSource, ProcessKey, SamplerStats } from "../profile/live.js";
import type { Frame, Sample } from "../profile/model.js";
import { ProcessTable } from "../process/process-table.js";
import type { ProcReader } from "../process/procfs.js";
import { Symbolizer } from "../symbols/symbolizer.js";

/** How a session samples and what it keeps. */
export interface SessionOptions {
	readonly frequencyHz: number;
	/**
	 * How often the kernel buffers are drained, at the longest: a flush drains
	 * at once and starts the interval over. 250 ms by default.
	 */
	readonly drainIntervalMs?: number;
	/** Side-band ring per CPU, in pages; 128 (512 KiB) holds ~2,000 process starts a second at 250 ms drains. */
	readonly sidebandPages?: number;
	/** Keep only these processes and every process they start; empty: all. */
	readonly pids?: readonly number[];
}

/** The parts a session is built from; tests pass fakes. */
export interface SessionParts {
	readonly kernel: Kernel;
	readonly proc: ProcReader;
	readonly symbolizer?: Symbolizer;
}

type Listener = (batch: LiveBatch) => void;

const DEFAULT_DRAIN_MS = 250;
/** Lifecycle events in one drain that mean processes are starting by the hundred a second. */
const STORM_EVENTS = 256;
const STORM_DRAIN_MS = 250;
/** How often freed C heap is handed back, at most: after the first drain, then now and then. */
const RELEASE_EVERY_MS = 10_000;

export class SamplerSession implements LiveSource {
	private readonly listeners = new Set<Listener>();
	private readonly errorListeners = new Set<(error: Error) => void>();
	private readonly table: ProcessTable;
	private readonly symbolizer: Symbolizer;
	private readonly followed?: Set<number>;
	private timer?: NodeJS.Timeout;
	private inflight?: Promise<void>;
	private closed = false;
	private samples = 0;
	private lastDrain?: Drain;
	private sidebandLost = 0;
	private releasedAt = Number.NEGATIVE_INFINITY;
	private readonly cpus: number;

	private constructor(
		private readonly kernel: KernelSession,
		private readonly parts: SessionParts,
		private readonly options: SessionOptions,
		cpus: number,
	) {
		this.table = new ProcessTable({ proc: parts.proc });
		this.symbolizer = parts.symbolizer ?? new Symbolizer({ demangle: (name) => parts.kernel.demangle([name])[0] ?? undefined });
		this.cpus = cpus;
		if (options.pids && options.pids.length > 0) this.followed = new Set(options.pids);
	}

	/** Attaches every probe unarmed, arms them at once, then scans /proc. */
	static async start(parts: SessionParts, options: SessionOptions, cpus: number): Promise<SamplerSession> {
		const kernel = parts.kernel.createSession();
		await kernel.open({ frequencyHz: options.frequencyHz, sidebandPages: options.sidebandPages ?? 128 });
		const session = new SamplerSession(kernel, parts, options, cpus);
		// Kernel symbols take ~150 ms to load; doing it before arming keeps the
		// first drain as short as the others.
		session.symbolizer.preload();
		kernel.arm();
		// After arming: a process started from now on is seen by the probes,
		// one started before is seen by the scan.
		session.table.scan();
		const interval = options.drainIntervalMs ?? DEFAULT_DRAIN_MS;
		session.timer = setInterval(() => session.tick(), interval);
		// An early first drain, so a live view has data to show within its first second.
		setTimeout(() => session.tick(), Math.min(50, interval)).unref();
		return session;
	}

	subscribe(listener: Listener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** Called when a drain fails; the session keeps going. */
	onError(listener: (error: Error) => void): () => void {
		this.errorListeners.add(listener);
		return () => this.errorListeners.delete(listener);
	}

	pidExists(pid: number): boolean {
		return this.table.exists(pid);
	}

	/**
	 * Drains now and restarts the drain interval, so a view that flushes at
	 * every refresh is what paces the drains. A drain already running is what
	 * it waits for: it began a moment ago.
	 */
	flush(): Promise<void> {
		this.timer?.refresh();
		return this.tick();
	}

	/** Drains now (unless a drain is running) and resolves when it is done. */
	tick(): Promise<void> {
		if (this.closed) return Promise.resolve();
		if (!this.inflight) {
			this.inflight = this.drainOnce()
				.catch((error: Error) => {
					for (const l of this.errorListeners) l(error);
				})
				.finally(() => {
					this.inflight = undefined;
				});
		}
		return this.inflight;
	}

	private async drainOnce(): Promise<void> {
		const drain = decodeDrain(await this.kernel.drain());
		const batch = this.apply(drain);
		this.lastDrain = drain;
		for (const l of this.listeners) l(batch);
		// Symbol files read for this batch leave freed C heap behind.
		const now = performance.now();
		if (now - this.releasedAt >= RELEASE_EVERY_MS) {
			this.parts.kernel.releaseFreeMemory?.();
			this.releasedAt = now;
		}
		// A storm of process starts fills the rings in proportion to time: while
		// one lasts, drain at least every STORM_DRAIN_MS, whatever the interval.
		const interval = this.options.drainIntervalMs ?? DEFAULT_DRAIN_MS;
		if (drain.events.length >= STORM_EVENTS && interval > STORM_DRAIN_MS && !this.closed)
			setTimeout(() => this.tick(), STORM_DRAIN_MS).unref();
	}

	/** Applies one drain and returns what it meant; public for tests with a fake kernel. */
	apply(drain: Drain): LiveBatch {
		const exited: ProcessKey[] = [];
		const sideband = mergeSideband(drain.sideband);
		for (const r of sideband) if (r.kind === "lost") this.sidebandLost += r.lost;
		this.applyInOrder(drain.events, sideband, exited);
		const samples: Sample[] = [];
		for (const c of drain.counts) {
			const s = this.sample(c, drain.stacks);
			if (s) samples.push(s);
		}
		// Everything before this drain began has now been processed.
		this.table.release(drain.drainKtimeNs);
		return { samples, exited, timeMs: Date.now() };
	}

	private applyInOrder(events: readonly KernelEvent[], sideband: readonly SidebandRecord[], exited: ProcessKey[]): void {
		let i = 0;
		let j = 0;
		// Two time-ordered streams; at equal times the side-band goes first,
		// because the kernel writes it before the tracepoint fires.
		while (i < events.length || j < sideband.length) {
			const e = events[i];
			const r = sideband[j];
			if (r && (!e || r.timeNs <= e.ktimeNs)) {
				this.table.applySideband(r);
				j++;
				continue;
			}
			this.table.applyEvent(e);
			if (e.type === "fork" && this.followed?.has(e.ppid)) this.followed.add(e.pid);
			if (e.type === "exit") exited.push({ pid: e.pid, startNs: e.startNs });
			i++;
		}
	}

	private sample(c: CountRecord, stacks: ReadonlyMap<number, BigUint64Array>): Sample | undefined {
		if (this.followed && !this.followed.has(c.pid)) return undefined;
		const { process, image } = this.table.resolve(c.pid, c.startNs, c.execId);
		const frames: Frame[] = [];
		const kips = c.kstackId >= 0 ? stacks.get(c.kstackId) : undefined;
		if (kips) for (let i = 0; i < kips.length; i++) frames.push(this.symbolizer.kernelFrame(kips[i], i > 0));
		const uips = c.ustackId >= 0 ? stacks.get(c.ustackId) : undefined;
		if (uips) {
			for (let i = 0; i < uips.length; i++) {
				// The first user address is where the thread was interrupted
				// (or entered the kernel); the rest are return addresses.
				frames.push(this.symbolizer.userFrame(c.pid, image, uips[i], i > 0));
			}
		}
		this.samples += c.count;
		return {
			pid: c.pid,
			tid: c.tid,
			startNs: c.startNs,
			comm: image.comm || process.comm,
			exe: image.exe || process.exe,
			frames,
			value: c.count,
		};
	}

	stats(): SamplerStats {
		const d = this.lastDrain;
		const t = this.table.stats();
		return {
			frequencyHz: this.options.frequencyHz,
			cpus: this.cpus,
			samples: this.samples,
			// A sample whose stack could not be taken (a clash in the stack map)
			// is kept but cannot be attributed: it counts as lost too.
			lostSamples: d ? d.counters.lostCountFull + d.lostStackReads + d.counters.lostUserStack + d.counters.lostKernelStack : 0,
			processesSeen: t.live + t.deferred + t.released,
			deferredProcesses: t.deferred,
			mapCleanup: d ? d.cleanup : { batchDeletes: 0, fallbackDeletes: 0, failures: 0 },
		};
	}

	/** Kernel-side loss counters beyond lost samples, for summaries. */
	lossDetails(): { userStackErrors: number; kernelStackErrors: number; lostEvents: number; lostSidebandRecords: number } {
		const d = this.lastDrain?.counters;
		return {
			userStackErrors: d?.lostUserStack ?? 0,
			kernelStackErrors: d?.lostKernelStack ?? 0,
			lostEvents: d?.lostEvents ?? 0,
			lostSidebandRecords: this.sidebandLost,
		};
	}

	/** The kernel's program and map ids, for tests and diagnostics. */
	kernelIds(): { programs: number[]; maps: number[] } {
		return { programs: this.kernel.programIds(), maps: this.kernel.mapIds() };
	}

	/** Stops the timer, takes one last drain, and detaches everything. */
	async close(): Promise<void> {
		if (this.closed) return;
		if (this.timer) clearInterval(this.timer);
		await this.inflight;
		try {
			await this.tick();
		} finally {
			this.closed = true;
			await this.kernel.close();
		}
	}
}
