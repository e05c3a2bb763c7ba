/**
 * A sampling session: attach all -> arm -> scan /proc -> drain ticks.
 * Each drain is applied in order: lifecycle events and side-band records
 * (merged by time) to the process table, then the samples, which are
 * symbolized against the process and image they were taken in. Only after a
 * drain has been fully processed are processes that exited before it began
 * released (ARCHITECTURE.md, Principles: 2). User stacks arrive as copies
 * and are unwound here, against the mappings the process had when sampled.
 */
import { performance } from "node:perf_hooks";
import { decodeDrain, type Drain, type KernelEvent, type OffCpuRecord, type SampleRecord, STACK_COPY_MAX } from "../kernel/abi.js";
import type { Kernel, KernelSession } from "../kernel/kernel.js";
import { mergeSideband, type SidebandRecord } from "../kernel/perf-records.js";
import type { LiveBatch, LiveSource, ProcessKey, SamplerStats } from "../profile/live.js";
import type { Frame, Sample } from "../profile/model.js";
import { ProcessTable } from "../process/process-table.js";
import type { ProcReader } from "../process/procfs.js";
import { Symbolizer } from "../symbols/symbolizer.js";
import { Reason, unknownName } from "../symbols/unknown.js";
import { isReturnAddress, Unwinder } from "../unwind/unwinder.js";
import { StackFrames } from "./stack-frames.js";
import { spliceStacks, type UnwoundStack, type UserUnwinder } from "./user-stack.js";
import { waitReason } from "./wait-reason.js";
import { type DrainPolicy, nextDrainDelay } from "./drain-policy.js";

/** How a session samples and what it keeps. */
export interface SessionOptions {
	readonly frequencyHz: number;
	/**
	 * How often the kernel buffers are drained, at the longest: a flush drains
	 * at once and starts the interval over. 250 ms by default.
	 */
	readonly drainIntervalMs?: number;
	/** Until the first samples come, drain at least this often (a live view); default: no hurry. */
	readonly earlyDrainMs?: number;
	/** Side-band ring per CPU, in pages; 128 (512 KiB) holds ~2,000 process starts a second at 250 ms drains. */
	readonly sidebandPages?: number;
	/** Keep only these processes and every process they start; empty: all. */
	readonly pids?: readonly number[];
	/** User stack each sample copies for unwinding, bytes; 16 KiB by default. */
	readonly stackCopyBytes?: number;
	/** Sample the CPU (default true). */
	readonly cpuSamples?: boolean;
	/** Measure where threads block; blocks shorter than `minBlockUs` are left out. */
	readonly offCpu?: { readonly minBlockUs: number; readonly kernelThreads?: boolean };
}

/** The parts a session is built from; tests pass fakes. */
export interface SessionParts {
	readonly kernel: Kernel;
	readonly proc: ProcReader;
	readonly symbolizer?: Symbolizer;
	readonly unwinder?: UserUnwinder;
}

/**
 * Bytes of samples ring that hold two of the longest drain intervals at
 * full rate, in a power of two between 256 KiB and 64 MiB: a sample is its
 * header, its stack copy and a kernel stack of typical depth.
 */
export function sampleRingBytes(frequencyHz: number, cpus: number, stackCopyBytes: number, drainIntervalMs: number): number {
	const record = 72 + stackCopyBytes + 256;
	const want = frequencyHz * cpus * record * ((2 * Math.max(drainIntervalMs, MAX_QUIET_DRAIN_MS)) / 1000);
	let bytes = 256 * 1024;
	while (bytes < want && bytes < 64 * 1024 * 1024) bytes *= 2;
	return bytes;
}

type Listener = (batch: LiveBatch) => void;

const DEFAULT_DRAIN_MS = 250;
/** The longest a view lets the sampler go undrained (top refreshes every second). */
const MAX_QUIET_DRAIN_MS = 1000;
/**
 * User stack each sample copies, by default: the most at the usual rates;
 * at high rates less, down to 8 KiB, so that the bytes a second stay about
 * what 16 KiB cost at 200 Hz.
 */
export function defaultStackCopyBytes(frequencyHz: number): number {
	const bytes = Math.floor((STACK_COPY_MAX * 200) / Math.max(frequencyHz, 1) / 8) * 8;
	return Math.min(STACK_COPY_MAX, Math.max(8192, bytes));
}
/** Off-CPU records are at most ~1 KiB; 16 MiB holds some 16,000 blocks between drains. */
const OFFCPU_RING_BYTES = 16 * 1024 * 1024;
/** How often freed C heap is handed back, at most: after drains that read files. */
const RELEASE_EVERY_MS = 10_000;

export class SamplerSession implements LiveSource {
	private readonly listeners = new Set<Listener>();
	private readonly errorListeners = new Set<(error: Error) => void>();
	private readonly table: ProcessTable;
	private readonly symbolizer: Symbolizer;
	private readonly unwinder: UserUnwinder;
	private readonly followed?: Set<number>;
	/** The one drain timer (ARCHITECTURE.md, Who owns what: drain timing). */
	private timer?: NodeJS.Timeout;
	private readonly policy: DrainPolicy;
	private drains = 0;
	private sawSamples = false;
	private lastEvents = 0;
	private inflight?: Promise<void>;
	private closed = false;
	/** Set when close() begins: its last drain schedules no other. */
	private closing = false;
	private closingDone?: Promise<void>;
	private samples = 0;
	/** The last drain's buffer, handed back to the addon for the next one. */
	private drainBuffer?: ArrayBuffer;
	private lastCounts?: Pick<Drain, "counters" | "cleanup">;
	private sidebandLost = 0;
	private truncatedStacks = 0;
	private readonly stackFrames = new StackFrames<Frame>();
	/** performance.now() when the probes were armed: where the measured window begins. */
	armedAtMs = 0;
	private blockedNs = 0;
	private releasedAt = Number.NEGATIVE_INFINITY;
	private filesReadAtRelease = 0;
	private readonly cpus: number;

	private constructor(
		private readonly kernel: KernelSession,
		private readonly parts: SessionParts,
		private readonly options: SessionOptions,
		cpus: number,
	) {
		this.table = new ProcessTable({ proc: parts.proc });
		this.symbolizer = parts.symbolizer ?? new Symbolizer({ demangle: (name) => parts.kernel.demangle([name])[0] ?? undefined });
		this.unwinder = parts.unwinder ?? new Unwinder();
		this.cpus = cpus;
		if (options.pids && options.pids.length > 0) this.followed = new Set(options.pids);
		this.policy = { intervalMs: options.drainIntervalMs ?? DEFAULT_DRAIN_MS, earlyMs: options.earlyDrainMs };
	}

	/** Attaches every probe unarmed, arms them at once, then scans /proc. */
	static async start(parts: SessionParts, options: SessionOptions, cpus: number): Promise<SamplerSession> {
		const kernel = parts.kernel.createSession();
		const stackCopyBytes = options.stackCopyBytes ?? defaultStackCopyBytes(options.frequencyHz);
		await kernel.open({
			frequencyHz: options.frequencyHz,
			sidebandPages: options.sidebandPages ?? 128,
			stackCopyBytes,
			sampleRingBytes: sampleRingBytes(options.frequencyHz, cpus, stackCopyBytes, options.drainIntervalMs ?? DEFAULT_DRAIN_MS),
			cpuSamples: options.cpuSamples ?? true,
			...(options.pids && options.pids.length > 0 ? { pids: options.pids } : {}),
			...(options.offCpu
				? {
						offCpu: {
							minBlockNs: Math.round(options.offCpu.minBlockUs * 1000),
							kernelThreads: options.offCpu.kernelThreads ?? false,
							ringBytes: OFFCPU_RING_BYTES,
						},
					}
				: {}),
		});
		const session = new SamplerSession(kernel, parts, options, cpus);
		// Kernel symbols take ~150 ms to load; doing it before arming keeps the
		// first drain as short as the others.
		session.symbolizer.preload();
		kernel.arm();
		session.armedAtMs = performance.now();
		// After arming: a process started from now on is seen by the probes,
		// one started before is seen by the scan.
		session.table.scan();
		session.schedule();
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
		clearTimeout(this.timer);
		this.timer = undefined;
		return this.tick();
	}

	/** Sets the one timer for the next drain, by the drain policy. */
	private schedule(): void {
		clearTimeout(this.timer);
		this.timer = undefined;
		if (this.closing) return;
		const delay = nextDrainDelay(this.policy, {
			drains: this.drains,
			sawSamples: this.sawSamples,
			lastEvents: this.lastEvents,
		});
		this.timer = setTimeout(() => {
			this.timer = undefined;
			void this.tick();
		}, delay);
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
					this.schedule();
				});
		}
		return this.inflight;
	}

	private async drainOnce(): Promise<void> {
		const got = await this.kernel.drain(this.drainBuffer);
		this.drainBuffer = got.buffer;
		const drain = decodeDrain(got.buffer, got.length);
		const batch = this.apply(drain);
		// The buffer goes back to the addon for the next drain: keep only numbers.
		this.lastCounts = { counters: drain.counters, cleanup: drain.cleanup };
		for (const l of this.listeners) l(batch);
		// Symbol and CFI files read for this batch leave freed C heap behind.
		// Only then is a trim worth it: a trim with nothing to give back
		// still unmaps free pages that the next drains fault in again, and a
		// page fault costs tens of microseconds on a virtual machine.
		const now = performance.now();
		if (now - this.releasedAt >= RELEASE_EVERY_MS) {
			const filesRead = this.filesRead();
			if (filesRead !== this.filesReadAtRelease) {
				this.parts.kernel.releaseFreeMemory?.();
				this.filesReadAtRelease = filesRead;
				this.releasedAt = now;
			}
		}
		this.drains++;
		this.lastEvents = drain.events.length;
		if (batch.samples.length > 0) this.sawSamples = true;
	}

	/** Symbol and CFI files opened so far (hits excluded). */
	private filesRead(): number {
		const symbols = this.symbolizer.stats();
		const tables = this.unwinder.stats?.().tables;
		return symbols.fileMisses + symbols.fileErrors + (tables ? tables.misses + tables.errors : 0);
	}

	/** Applies one drain and returns what it meant; public for tests with a fake kernel. */
	apply(drain: Drain): LiveBatch {
		const exited: ProcessKey[] = [];
		const sideband = mergeSideband(drain.sideband);
		for (const r of sideband) if (r.kind === "lost") this.sidebandLost += r.lost;
		this.applyInOrder(drain.events, sideband, exited);
		// Identical stacks of one thread become one weighted sample, named once.
		// This drain's stacks live in its buffer; the last drain's are gone.
		this.unwinder.forgetStacks?.();
		const merged = new Map<string, { key: string; record: SampleRecord; user?: UnwoundStack; value: number }>();
		for (const r of drain.samples) {
			if (this.followed && !this.followed.has(r.pid)) continue;
			const user = r.regs ? this.unwinder.unwind(r.pid, this.table.resolve(r.pid, r.startNs, r.execId).image, r.regs, r.stack, r.stackCut, r.tid) : undefined;
			const key = `${r.where}/${user ? pcsKey(user.pcs) : ""}/${user?.truncated}`;
			const m = merged.get(key);
			if (m) m.value++;
			else merged.set(key, { key, record: r, user, value: 1 });
		}
		const samples: Sample[] = [];
		for (const m of merged.values()) samples.push(this.sample(m.key, m.record, m.user, m.value));
		const offCpu = this.options.offCpu ? this.blocked(drain.offCpu) : undefined;
		// Everything before this drain began has now been processed.
		this.table.release(drain.drainKtimeNs);
		return { samples, ...(offCpu ? { offCpu } : {}), exited, timeMs: wallClockMs(drain.drainKtimeNs) };
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

	/** One sample of stack `key` (process, thread, kernel stack, user addresses). */
	private sample(key: string, r: SampleRecord, user: UnwoundStack | undefined, value: number): Sample {
		const { process, image } = this.table.resolve(r.pid, r.startNs, r.execId);
		let frames = this.stackFrames.get(key, image.mappings);
		if (frames === undefined) {
			const jitFramesBefore = this.symbolizer.jitFrames;
			const named: Frame[] = [];
			const kips = r.kernelIps;
			for (let i = 0; i < kips.length; i++) named.push(this.symbolizer.kernelFrame(kips[i], i > 0));
			if (user) {
				// The first user address is where the thread was interrupted (or
				// entered the kernel); the rest are return addresses.
				for (let i = 0; i < user.pcs.length; i++) named.push(this.symbolizer.userFrame(r.pid, image, user.pcs[i], isReturnAddress(user, i)));
				if (user.truncated) named.push(truncationFrame(user.truncated));
			}
			if (this.symbolizer.jitFrames === jitFramesBefore) this.stackFrames.set(key, image.mappings, named);
			frames = named;
		}
		if (user?.truncated) this.truncatedStacks += value;
		this.samples += value;
		return {
			pid: r.pid,
			tid: r.tid,
			startNs: r.startNs,
			comm: image.comm || process.comm,
			exe: image.exe || process.exe,
			frames,
			value,
		};
	}

	/** Off-CPU blocks as samples worth their nanoseconds, identical stacks and reasons summed. */
	private blocked(records: readonly OffCpuRecord[]): Sample[] {
		const merged = new Map<string, Sample & { value: number }>();
		for (const r of records) {
			if (this.followed && !this.followed.has(r.pid)) continue;
			const m = merged.get(r.where);
			if (m) {
				m.value += r.blockedNs;
				continue;
			}
			const { process, image } = this.table.resolve(r.pid, r.startNs, r.execId);
			const frames: Frame[] = [];
			for (let i = 0; i < r.kernelIps.length; i++) {
				const f = this.symbolizer.kernelFrame(r.kernelIps[i], i > 0);
				// The stack was taken inside the probe: its own frames come first.
				if (frames.length === 0 && PROBE_FRAME.test(f.name)) continue;
				frames.push(f);
			}
			const reason = waitReason(
				frames.map((f) => f.name),
				r.preempted,
			);
			const user = r.regs ? spliceStacks(this.unwinder.unwind(r.pid, image, r.regs, r.stack, true), r.userIps) : { pcs: [...r.userIps] };
			for (let i = 0; i < user.pcs.length; i++) frames.push(this.symbolizer.userFrame(r.pid, image, user.pcs[i], isReturnAddress(user, i)));
			if (user.truncated) frames.push(truncationFrame(user.truncated));
			merged.set(r.where, {
				pid: r.pid,
				tid: r.tid,
				startNs: r.startNs,
				comm: image.comm || process.comm,
				exe: image.exe || process.exe,
				frames,
				value: r.blockedNs,
				waitReason: reason,
			});
		}
		let total = 0;
		for (const s of merged.values()) total += s.value;
		this.blockedNs += total;
		return [...merged.values()];
	}

	stats(): SamplerStats {
		const d = this.lastCounts;
		const t = this.table.stats();
		return {
			frequencyHz: this.options.frequencyHz,
			cpus: this.cpus,
			samples: this.samples,
			// A sample whose kernel stack could not be taken is kept, but it is
			// not whole: it counts as lost too.
			lostSamples: d ? d.counters.lostSampleRing + d.counters.lostKernelStack : 0,
			processesSeen: t.live + t.deferred + t.released,
			deferredProcesses: t.deferred,
			mapCleanup: d ? d.cleanup : { batchDeletes: 0, fallbackDeletes: 0, failures: 0 },
		};
	}

	/** Kernel-side loss counters beyond lost samples, for summaries. */
	lossDetails(): {
		kernelStackErrors: number;
		lostEvents: number;
		lostSidebandRecords: number;
		truncatedUserStacks: number;
		stackBytesPerSample: number;
		offCpuBlocks: number;
		lostOffCpuBlocks: number;
		blockedNs: number;
	} {
		const d = this.lastCounts?.counters;
		return {
			offCpuBlocks: d?.offCpuBlocks ?? 0,
			// Blocks whose record did not fit the ring, and switch-outs that
			// found the per-thread map full: both are time not measured.
			lostOffCpuBlocks: (d?.lostOffCpu ?? 0) + (d?.offCpuDropped ?? 0),
			blockedNs: this.blockedNs,
			kernelStackErrors: d?.lostKernelStack ?? 0,
			lostEvents: d?.lostEvents ?? 0,
			lostSidebandRecords: this.sidebandLost,
			truncatedUserStacks: this.truncatedStacks,
			stackBytesPerSample: d && d.samples > 0 ? d.stackBytes / d.samples : 0,
		};
	}

	/** The kernel's program and map ids, for tests and diagnostics. */
	kernelIds(): { programs: number[]; maps: number[] } {
		return { programs: this.kernel.programIds(), maps: this.kernel.mapIds() };
	}

	/** Stops the timer, takes one last drain, and detaches everything. */
	close(): Promise<void> {
		if (this.closed) return Promise.resolve();
		this.closingDone ??= this.closeOnce();
		return this.closingDone;
	}

	private async closeOnce(): Promise<void> {
		this.closing = true;
		clearTimeout(this.timer);
		this.timer = undefined;
		await this.inflight;
		try {
			await this.tick();
		} finally {
			this.closed = true;
			await this.kernel.close();
		}
	}
}

/**
 * Wall-clock ms of a CLOCK_MONOTONIC instant (the addon's and the BPF
 * programs' clock, which is also process.hrtime's).
 */
function wallClockMs(monotonicNs: bigint): number {
	return Date.now() - Number(process.hrtime.bigint() - monotonicNs) / 1e6;
}

/** The bytes of a list of addresses as a string: a cheap Map key. */
function pcsKey(pcs: readonly bigint[]): string {
	const n = pcs.length;
	if (n > pcsScratch.length) {
		pcsScratch = new BigUint64Array(n * 2);
		pcsScratchBytes = Buffer.from(pcsScratch.buffer);
	}
	// One reused array: BigUint64Array.from goes through the iterator
	// protocol and makes two objects a sample (8x slower at 97 frames).
	for (let i = 0; i < n; i++) pcsScratch[i] = pcs[i];
	return pcsScratchBytes.toString("latin1", 0, n * 8);
}
let pcsScratch = new BigUint64Array(128);
let pcsScratchBytes = Buffer.from(pcsScratch.buffer);

/** Frames of the BPF probe and its trampoline, innermost in an off-CPU kernel stack. */
const PROBE_FRAME = /^(bpf_prog_|bpf_trace_run|__bpf_trace_|__traceiter_)/;

const truncationFrames = new Map<string, Frame>();

/**
 * The outermost frame of a stack that ends early says why (ARCHITECTURE.md,
 * Unwinding). One object per reason: layers above key stacks by frame identity.
 */
function truncationFrame(reason: string): Frame {
	let frame = truncationFrames.get(reason);
	if (!frame) {
		const why = Reason.truncated(reason);
		frame = Object.freeze({ name: unknownName(undefined, why), module: "[unknown]", kernel: false, unknownReason: why });
		truncationFrames.set(reason, frame);
	}
	return frame;
}
