/**
 * Who a pid was at a given time. Fed, in time order, by the BPF lifecycle
 * events and the perf side-band records; asked by the sampler for the
 * process and image behind each sample key.
 *
 * (ARCHITECTURE.md, Principles: 2) A process is keyed by (pid, start time) and its
 * information outlives it. Its exit time is recorded, and it is released
 * only after a drain that started after that time has been fully processed,
 * because until then samples taken before the exit may still arrive.
 */
import { LRUCache } from "lru-cache";
import type { KernelEvent } from "../kernel/abi.js";
import type { SidebandRecord } from "../kernel/perf-records.js";
import { ANON_PATH, fileKeyOf, Image } from "./image.js";
import type { ProcReader } from "./procfs.js";
import { processKey } from "../profile/process-key.js";

/** Everything kept about one process. */
export interface ProcessInfo {
	readonly pid: number;
	/** CLOCK_MONOTONIC ns; 0n while a process seeded from /proc has not been matched yet. */
	startNs: bigint;
	ppid: number;
	comm: string;
	exe: string;
	/** Set by its exit event. */
	exitNs?: bigint;
	/** Images by the kernel's self_exec_id: one per exec. */
	readonly images: Map<bigint, Image>;
	/** The most recent image, for samples of an exec id never seen. */
	latest?: Image;
}

/** Cache counts, for the header of `top` and for tests. */
export interface ProcessTableStats {
	readonly live: number;
	/** Exited, kept until their exit time has been processed. */
	readonly deferred: number;
	readonly released: number;
	readonly hits: number;
	readonly misses: number;
	readonly evictions: number;
}

export interface ProcessTableOptions {
	readonly proc: ProcReader;
	/** Backstop bound on processes kept; eviction is counted. */
	readonly maxProcesses?: number;
}

const key = processKey;

export class ProcessTable {
	private readonly proc: ProcReader;
	private readonly byKey: LRUCache<string, ProcessInfo>;
	/** Processes read from /proc at start, before their start time is known. */
	private readonly seeded = new Map<number, ProcessInfo>();
	/** The side-band stream's current image of each pid. */
	private readonly current = new Map<number, Image>();
	/** Images started by COMM_EXEC that have not yet seen their main binary. */
	private readonly fresh = new WeakSet<Image>();
	private readonly exited = new Map<string, ProcessInfo>();
	/** The newest process of each pid, so a fork finds its parent in O(1). */
	private readonly newest = new Map<number, ProcessInfo>();
	private hits = 0;
	private misses = 0;
	private evictions = 0;
	private released = 0;

	constructor(options: ProcessTableOptions) {
		this.proc = options.proc;
		this.byKey = new LRUCache<string, ProcessInfo>({
			max: options.maxProcesses ?? 65536,
			dispose: (p, k, reason) => {
				if (reason !== "evict") return;
				this.evictions++;
				this.exited.delete(k);
				if (this.newest.get(p.pid) === p) this.newest.delete(p.pid);
				if (this.current.get(p.pid) && this.ownsImage(p, this.current.get(p.pid))) this.current.delete(p.pid);
			},
		});
	}

	/** Seeds every process alive now; call after the probes are armed. */
	scan(): number {
		let n = 0;
		for (const pid of this.proc.listPids()) if (this.seed(pid)) n++;
		return n;
	}

	private seed(pid: number): ProcessInfo | undefined {
		const s = this.proc.read(pid);
		if (!s) return undefined;
		const p: ProcessInfo = { pid, startNs: 0n, ppid: s.ppid, comm: s.comm, exe: s.exe, images: new Map(), latest: s.image };
		this.seeded.set(pid, p);
		if (!this.current.has(pid)) this.current.set(pid, s.image);
		return p;
	}

	/** Binds a seeded process to its real start time, once a key names it. */
	private adopt(pid: number, startNs: bigint): ProcessInfo | undefined {
		const p = this.seeded.get(pid);
		if (!p) return undefined;
		this.seeded.delete(pid);
		p.startNs = startNs;
		this.remember(p);
		return p;
	}

	private remember(p: ProcessInfo): void {
		this.byKey.set(key(p.pid, p.startNs), p);
		const n = this.newest.get(p.pid);
		if (!n || n.startNs <= p.startNs) this.newest.set(p.pid, p);
	}

	private ownsImage(p: ProcessInfo, image: Image | undefined): boolean {
		if (!image) return false;
		if (p.latest === image) return true;
		for (const i of p.images.values()) if (i === image) return true;
		return false;
	}

	/** Applies one side-band record. */
	applySideband(r: SidebandRecord): void {
		switch (r.kind) {
			case "fork":
				// Threads share their process's image.
				if (r.pid !== r.tid) return;
				this.current.set(r.pid, (this.current.get(r.ppid) ?? new Image()).clone());
				return;
			case "comm":
				if (!r.exec) return;
				{
					const image = new Image();
					this.fresh.add(image);
					this.current.set(r.pid, image);
				}
				return;
			case "mmap": {
				if (!r.executable) return;
				let image = this.current.get(r.pid);
				if (!image) {
					// A process we knew only from /proc, mapping more code.
					image = this.seeded.get(r.pid)?.latest ?? new Image();
					this.current.set(r.pid, image);
				}
				image.add({
					start: r.start,
					end: r.start + r.length,
					pgoff: r.pgoff,
					path: r.filename,
					buildId: r.buildId,
					fileKey: fileKeyOf(r.buildId, r.dev),
				});
				// The ELF loader maps the binary first, then its interpreter.
				if (this.fresh.has(image) && r.filename.startsWith("/") && r.filename !== ANON_PATH) {
					image.exe = r.filename;
					this.fresh.delete(image);
				}
				return;
			}
			default:
				return;
		}
	}

	/** Applies one BPF lifecycle event. */
	applyEvent(e: KernelEvent): void {
		const k = key(e.pid, e.startNs);
		switch (e.type) {
			case "fork": {
				const parent = this.latestOf(e.ppid);
				const image = this.current.get(e.pid) ?? parent?.latest?.clone() ?? new Image();
				image.comm ||= e.comm;
				const p: ProcessInfo = {
					pid: e.pid,
					startNs: e.startNs,
					ppid: e.ppid,
					comm: e.comm,
					exe: parent?.exe ?? image.exe,
					images: new Map([[e.execId, image]]),
					latest: image,
				};
				this.seeded.delete(e.pid);
				this.remember(p);
				return;
			}
			case "exec": {
				const p = this.byKey.get(k) ?? this.adopt(e.pid, e.startNs) ?? this.create(e.pid, e.startNs, e.ppid);
				const image = this.current.get(e.pid) ?? new Image();
				if (!image.exe && e.filename.startsWith("/")) image.exe = e.filename;
				image.comm = e.comm;
				p.comm = e.comm;
				p.exe = image.exe || p.exe;
				p.images.set(e.execId, image);
				p.latest = image;
				return;
			}
			case "exit": {
				// A process that ended before the scan is known by its exit alone.
				const p = this.byKey.get(k) ?? this.adopt(e.pid, e.startNs) ?? this.create(e.pid, e.startNs, e.ppid);
				p.exitNs = e.ktimeNs;
				p.comm ||= e.comm;
				this.exited.set(k, p);
				return;
			}
		}
	}

	private create(pid: number, startNs: bigint, ppid: number): ProcessInfo {
		const p: ProcessInfo = { pid, startNs, ppid, comm: "", exe: "", images: new Map() };
		this.remember(p);
		return p;
	}

	/** The newest live process known under `pid`. */
	private latestOf(pid: number): ProcessInfo | undefined {
		return this.seeded.get(pid) ?? this.newest.get(pid);
	}

	/**
	 * The process and image behind a sample key. A process never announced
	 * (it predates the scan, or its events were lost) is read from /proc
	 * while it lives; failing that it stays nameless but counted.
	 */
	resolve(pid: number, startNs: bigint, execId: bigint): { process: ProcessInfo; image: Image } {
		const k = key(pid, startNs);
		let p = this.byKey.get(k);
		if (p) this.hits++;
		else {
			this.misses++;
			p = this.adopt(pid, startNs);
			if (!p && this.seed(pid)) p = this.adopt(pid, startNs);
			if (!p) p = this.create(pid, startNs, 0);
		}
		let image = p.images.get(execId);
		if (!image) {
			image = p.latest ?? this.current.get(pid) ?? new Image();
			p.images.set(execId, image);
			p.latest ??= image;
			if (!p.exe) p.exe = image.exe;
		}
		return { process: p, image };
	}

	/**
	 * Releases every process that exited before `processedUntilNs`, the
	 * start time of a drain that has been fully processed.
	 */
	release(processedUntilNs: bigint): number {
		let n = 0;
		for (const [k, p] of this.exited) {
			if (p.exitNs === undefined || p.exitNs >= processedUntilNs) continue;
			this.exited.delete(k);
			this.byKey.delete(k);
			if (this.newest.get(p.pid) === p) this.newest.delete(p.pid);
			if (this.ownsImage(p, this.current.get(p.pid))) this.current.delete(p.pid);
			n++;
		}
		this.released += n;
		return n;
	}

	/** Whether a process with this pid exists now. */
	exists(pid: number): boolean {
		return this.proc.exists(pid);
	}

	stats(): ProcessTableStats {
		return {
			live: this.byKey.size - this.exited.size + this.seeded.size,
			deferred: this.exited.size,
			released: this.released,
			hits: this.hits,
			misses: this.misses,
			evictions: this.evictions,
		};
	}
}
