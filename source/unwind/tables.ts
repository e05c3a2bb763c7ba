/**
 * Unwind tables of mapped files, compiled lazily (only when a stack passes
 * through the file) and cached by file identity, never by pid: 300 short
 * processes of one binary compile it once. The cache is bounded in bytes.
 */
import fs from "node:fs";
import { LRUCache } from "lru-cache";
import type { Mapping } from "../process/image.js";
import { type ElfCfi, type LoadSegment, readElfCfi } from "../symbols/elf-reader.js";
import { fileIdentity, openMappedFile } from "../symbols/symbolizer.js";
import { withOwnVdsoFile } from "../symbols/vdso.js";
import { CfiError, compileCfi } from "./cfi.js";
import { LazyUnwindTable } from "./lazy-table.js";
import type { UnwindRows, UnwindTable } from "./table.js";

/** A file's compiled table and its load segments, or why there is none. */
export type FileTable =
	| { readonly table: UnwindRows; readonly loads: readonly LoadSegment[]; readonly buildId?: string }
	| { readonly error: string; readonly buildId?: string };

/** Counts and sizes of the table cache. */
export interface TableStats {
	readonly files: number;
	/** Bytes of compiled rows held (the vDSO included). */
	readonly bytes: number;
	readonly hits: number;
	readonly misses: number;
	/** Files without usable CFI, or that could not be opened. */
	readonly errors: number;
}

/** How a {@link TableCache} finds files and how much it keeps. */
export interface TableCacheOptions {
	/** Where /proc is; tests point it elsewhere. */
	readonly procRoot?: string;
	/** Budget for compiled rows (default 64 MiB). */
	readonly maxBytes?: number;
	/** The vDSO's table (default: compiled from tsprof's own vDSO, which every process shares). */
	readonly vdso?: () => FileTable;
}

/** Compiles what {@link readElfCfi} found. Throws CfiError. */
export function compileElfCfi(cfi: ElfCfi): UnwindTable {
	return compileCfi({
		ehFrame: cfi.ehFrame,
		debugFrame: cfi.debugFrame,
		textVaddr: cfi.textVaddr,
		dataVaddr: cfi.gotVaddr,
	});
}

/**
 * The table of a file's CFI: compiled FDE by FDE through .eh_frame_hdr when
 * the file has one (nearly every binary), else all at once. A .debug_frame
 * is not indexed by the header, so a file with one is compiled whole.
 */
export function tableOfCfi(cfi: ElfCfi): UnwindRows {
	if (cfi.ehFrameHdr && cfi.ehFrame && !cfi.debugFrame) {
		try {
			return new LazyUnwindTable(cfi.ehFrameHdr, cfi.ehFrame, { textVaddr: cfi.textVaddr, dataVaddr: cfi.gotVaddr });
		} catch (error) {
			if (!(error instanceof CfiError)) throw error;
		}
	}
	return compileElfCfi(cfi);
}

/** Reads the CFI of the file open at `fd`, ready to compile. */
function tableOfFd(fd: number, size: number): FileTable {
	try {
		const cfi = readElfCfi(fd, size);
		if (!cfi.ehFrame && !cfi.debugFrame) return { error: "no CFI", buildId: cfi.buildId };
		return { table: tableOfCfi(cfi), loads: cfi.loads, buildId: cfi.buildId };
	} catch (error) {
		return { error: `bad CFI: ${(error as Error).message}` };
	}
}

/** The table of the file at `path` (tests, the vDSO). */
export function tableOfFile(path: string): FileTable {
	const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
	try {
		return tableOfFd(fd, fs.fstatSync(fd).size);
	} finally {
		fs.closeSync(fd);
	}
}

const TABLE_OVERHEAD = 256;

/**
 * Per-mapping memo: the identity its file was found under and its table as of
 * eviction count \`epoch\`, or why it was not found.
 */
type MappingEntry = { readonly key: string; table: FileTable; epoch: number } | { readonly error: string };

/**
 * `get(pid, mapping): FileTable` opens the mapped file through the same
 * path as the symbolizer ({@link openMappedFile}), compiles its CFI on first
 * use, and keeps it by file identity within a byte budget; `stats()`.
 */
export class TableCache {
	private readonly files: LRUCache<string, FileTable>;
	private readonly byFileKey = new LRUCache<string, string>({ max: 4096 });
	private readonly byMapping = new WeakMap<Mapping, MappingEntry>();
	private readonly procRoot: string;
	private readonly loadVdso: () => FileTable;
	private vdso?: FileTable;
	private hits = 0;
	private misses = 0;
	private errors = 0;
	// Tables evicted so far: a mapping's memo is good while this has not moved.
	private evictions = 0;

	constructor(options: TableCacheOptions = {}) {
		this.procRoot = options.procRoot ?? "/proc";
		this.loadVdso = options.vdso ?? (() => withOwnVdsoFile(tableOfFile));
		this.files = new LRUCache({
			maxSize: options.maxBytes ?? 64 * 1024 * 1024,
			sizeCalculation: (v) => ("table" in v ? v.table.byteSize : 0) + TABLE_OVERHEAD,
			dispose: () => {
				this.evictions++;
			},
		});
	}

	/** The table for the file behind `m` in process `pid` (which may have exited). */
	get(pid: number, m: Mapping): FileTable {
		if (m.path === "[vdso]") return this.vdsoTable();
		const known = this.byMapping.get(m);
		if (known) {
			if ("error" in known) return known;
			// Every unwind asks once per file it passes: while nothing was
			// evicted the memo stands, and an LRU lookup (which allocates)
			// is only needed to renew the table's place after an eviction.
			if (known.epoch === this.evictions) {
				this.hits++;
				return known.table;
			}
			const hit = this.files.get(known.key);
			if (hit) {
				this.hits++;
				known.table = hit;
				known.epoch = this.evictions;
				return hit;
			}
		}
		if (m.path === "" || m.path.startsWith("[") || m.path.startsWith("//anon") || m.path.startsWith("/memfd:")) {
			const e = { error: "no file" };
			this.byMapping.set(m, e);
			return e;
		}
		const viaKey = m.fileKey ? this.byFileKey.get(m.fileKey) : undefined;
		const cached = viaKey === undefined ? undefined : this.files.get(viaKey);
		if (viaKey !== undefined && cached) {
			this.hits++;
			this.byMapping.set(m, { key: viaKey, table: cached, epoch: this.evictions });
			return cached;
		}
		let lastError = "cannot open";
		const found = openMappedFile(this.procRoot, pid, m, (fd, st) => {
			const key = fileIdentity(st);
			let result = this.files.get(key);
			if (result) this.hits++;
			else {
				this.misses++;
				result = tableOfFd(fd, st.size);
				if ("error" in result) this.errors++;
				this.files.set(key, result);
			}
			// A reused pid's root may show another file under the same name.
			if (m.buildId && result.buildId && m.buildId !== result.buildId) {
				lastError = "build-id mismatch";
				return undefined;
			}
			return { key, result };
		});
		if (!found) {
			this.errors++;
			const e = { error: lastError };
			this.byMapping.set(m, e);
			return e;
		}
		this.byMapping.set(m, "error" in found.result ? found.result : { key: found.key, table: found.result, epoch: this.evictions });
		if (m.fileKey && "table" in found.result) this.byFileKey.set(m.fileKey, found.key);
		return found.result;
	}

	private vdsoTable(): FileTable {
		if (!this.vdso) {
			try {
				this.vdso = this.loadVdso();
			} catch (error) {
				this.vdso = { error: `vdso: ${(error as Error).message}` };
			}
		}
		return this.vdso;
	}

	stats(): TableStats {
		// Lazy tables grow after they are cached: count what they hold now.
		let bytes = this.vdso && "table" in this.vdso ? this.vdso.table.byteSize : 0;
		for (const file of this.files.values()) bytes += ("table" in file ? file.table.byteSize : 0) + TABLE_OVERHEAD;
		return { files: this.files.size, bytes, hits: this.hits, misses: this.misses, errors: this.errors };
	}
}
