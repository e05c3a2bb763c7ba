/**
 * Names for code in anonymous executable memory, from the process's perf map.
 *
 * The state of each process's map hangs off its Image (one per exec), so it
 * is kept exactly as long as the process table keeps the process: past its
 * exit, until its last samples are attributed (ARCHITECTURE.md, Principles:
 * 2). The map is located and its owner checked while the process lives; it
 * is re-read, only the appended part, when an address misses and the last
 * read is older than `refreshMs`.
 */
import { basename } from "node:path";
import { performance } from "node:perf_hooks";
import type { Frame, MappingRange } from "../profile/model.js";
import type { Image } from "../process/image.js";
import { type ProcIds, readProcIds } from "../process/proc-status.js";
import { jitName } from "./jit-names.js";
import { PerfMapFile } from "./perf-map.js";
import { Reason, unknownName } from "./unknown.js";

/** The module of JIT frames whose runtime names no script for them. */
export const JIT_MODULE = "[jit]";

/** Options for {@link JitSymbols}. */
export interface JitSymbolsOptions {
	/** Where /proc is; tests point it elsewhere. */
	readonly procRoot?: string;
	/** The /tmp of tsprof's own mount namespace. */
	readonly tmpDir?: string;
	/** Re-read a map after a miss at most this often (default 200 ms). */
	readonly refreshMs?: number;
	/** Reads a process's ids; the default reads /proc. */
	readonly readIds?: (pid: number) => ProcIds | undefined;
}

/** Counts, for stats and tests. */
export interface JitStats {
	readonly processes: number;
	readonly hits: number;
	readonly misses: number;
	readonly refreshes: number;
	readonly refused: number;
}

interface JitState {
	readonly pid: number;
	readonly file?: PerfMapFile;
	/** Why the process has no perf map at all (gone before it was looked at). */
	readonly reason?: string;
	readonly node: boolean;
	readAt: number;
	readonly frames: Map<bigint, Frame>;
	/** Entries in the file when `frames` was filled: new lines may rename an address. */
	entries: number;
}

/** Whether a mapping's path names anonymous memory (where JITs put code). */
export function isAnonymousPath(path: string): boolean {
	return (
		path === "" ||
		path === "//anon" ||
		path.startsWith("[anon") ||
		path === "[heap]" ||
		path.startsWith("[stack") ||
		path.startsWith("/memfd:") ||
		path.startsWith("/dev/zero")
	);
}

export class JitSymbols {
	private readonly states = new WeakMap<Image, JitState>();
	private readonly procRoot: string;
	private readonly tmpDir: string;
	private readonly refreshMs: number;
	private readonly readIds: (pid: number) => ProcIds | undefined;
	private processes = 0;
	private hits = 0;
	private misses = 0;
	private refreshes = 0;
	private refused = 0;

	constructor(options: JitSymbolsOptions = {}) {
		this.procRoot = options.procRoot ?? "/proc";
		this.tmpDir = options.tmpDir ?? "/tmp";
		this.refreshMs = options.refreshMs ?? 200;
		this.readIds = options.readIds ?? ((pid) => readProcIds(pid, this.procRoot));
	}

	/** Whether `image` has a perf map that could be read (now or before). */
	hasMap(pid: number, image: Image): boolean {
		const state = this.stateOf(pid, image);
		return state.file !== undefined && state.file.reason === undefined;
	}

	/**
	 * Names `ip` of process `pid` from its perf map. `mapping` is the
	 * anonymous mapping that holds it, when one is known.
	 */
	frame(pid: number, image: Image, ip: bigint, mapping?: MappingRange): Frame {
		const state = this.stateOf(pid, image);
		const cached = state.frames.get(ip);
		if (cached) {
			this.hits++;
			return cached;
		}
		this.misses++;
		let frame = this.lookup(state, ip, mapping);
		if (!frame && state.file && performance.now() - state.readAt >= this.refreshMs) {
			this.read(state);
			frame = this.lookup(state, ip, mapping);
		}
		if (frame) {
			if (state.frames.size < 65536) state.frames.set(ip, frame);
			return frame;
		}
		// Misses are not cached: the map may name the address at its next read.
		return { name: unknownName(ip, this.reasonOf(state)), module: JIT_MODULE, kernel: false, address: ip, unknownReason: this.reasonOf(state), ...(mapping ? { mapping } : {}) };
	}

	private reasonOf(state: JitState): string {
		if (state.reason) return state.reason;
		const file = state.file;
		if (!file) return Reason.jitNoMap("");
		if (file.reason === undefined) return Reason.jitNotInMap();
		if (file.reason.startsWith("cannot open") && file.reason.endsWith("ENOENT")) {
			return state.node ? Reason.jitNode() : Reason.jitNoMap(file.path);
		}
		return Reason.jitRefused(file.reason);
	}

	private lookup(state: JitState, ip: bigint, mapping?: MappingRange): Frame | undefined {
		const file = state.file;
		if (!file || file.reason !== undefined || ip > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
		const hit = file.lookup(Number(ip));
		if (!hit) return undefined;
		const named = jitName(hit.name);
		return { name: named.name, module: named.module ?? JIT_MODULE, kernel: false, address: ip, ...(mapping ? { mapping } : {}) };
	}

	private read(state: JitState): void {
		const file = state.file;
		if (!file) return;
		file.refresh();
		state.readAt = performance.now();
		this.refreshes++;
		if (file.reason !== undefined && !file.reason.startsWith("cannot open")) this.refused++;
		// New lines can rename an address whose code was moved or collected.
		if (file.entries !== state.entries) {
			state.frames.clear();
			state.entries = file.entries;
		}
	}

	private stateOf(pid: number, image: Image): JitState {
		let state = this.states.get(image);
		if (state) return state;
		this.processes++;
		const node = /^node(js)?\d*$/.test(basename(image.exe)) || image.comm === "node";
		const ids = this.readIds(pid);
		if (!ids) {
			state = { pid, node, readAt: 0, frames: new Map(), entries: 0, reason: Reason.jitRefused("the process ended before its perf map was checked") };
		} else {
			// A process in another mount namespace (a container) has its own
			// /tmp, and names its map by its pid in its own pid namespace.
			const dir = ids.sameMountNs ? this.tmpDir : `${this.procRoot}/${pid}/root/tmp`;
			const file = new PerfMapFile(`${dir}/perf-${ids.nsPid}.map`, { allowedUids: ids.uids });
			state = { pid, node, file, readAt: 0, frames: new Map(), entries: 0 };
			this.read(state);
		}
		this.states.set(image, state);
		return state;
	}

	stats(): JitStats {
		return { processes: this.processes, hits: this.hits, misses: this.misses, refreshes: this.refreshes, refused: this.refused };
	}
}
