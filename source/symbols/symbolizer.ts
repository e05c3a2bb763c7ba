/**
 * Address -> Frame, for user addresses (through a process image's mappings
 * and the ELF symbols of the mapped files) and kernel addresses (kallsyms).
 *
 * ELF files are cached by file identity (device, inode, size, mtime), never
 * by pid: 300 short processes of one binary parse it once. A file is opened
 * through the process when that works (/proc/PID/root for another mount
 * namespace, /proc/PID/map_files for a deleted binary), else by its path.
 */
import { type Stats, closeSync, constants, existsSync, fstatSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { LRUCache } from "lru-cache";
import { KERNEL_MODULE, type Frame, type MappingRange } from "../profile/model.js";
import type { Image, Mapping } from "../process/image.js";
import { type ElfImage, fileOffsetToVaddr, readElf, readElfFile } from "./elf-reader.js";
import type { SymbolTable } from "./symbol-table.js";
import { readOwnVdso } from "./vdso.js";
import { type KernelSymbols, loadKallsyms } from "./kallsyms.js";
import { isAnonymousPath, JitSymbols } from "./jit-maps.js";
import { DebugFiles } from "./debug-files.js";
import { Reason, unknownName } from "./unknown.js";

/** Hit, miss and error counts of the symbol caches. */
export interface SymbolizerStats {
	readonly filesCached: number;
	readonly fileHits: number;
	readonly fileMisses: number;
	/** Files that could not be opened or parsed. */
	readonly fileErrors: number;
}

export interface SymbolizerOptions {
	/** ELF files kept parsed at once. */
	readonly maxFiles?: number;
	/** Where /proc is; tests point it elsewhere. */
	readonly procRoot?: string;
	/** Loads kernel symbols on first use (default: /proc/kallsyms). */
	readonly loadKernelSymbols?: () => KernelSymbols;
	/** Where separate debug files live (default /usr/lib/debug: .build-id/ and the binaries' directories). */
	readonly debugRoot?: string;
	/** Turns a mangled C++/Rust name into what people read; undefined keeps it. */
	readonly demangle?: (mangled: string) => string | undefined;
	/** Names code in anonymous memory from perf maps (default: /tmp's, checked through procRoot). */
	readonly jit?: JitSymbols;
}

const DELETED = " (deleted)";

/** A parsed file, with the symbols of its separate debug file when there is one. */
type FileResult = { elf: ElfImage; symbols: SymbolTable; fullSymbols: boolean; deleted?: boolean } | { error: string };

export class Symbolizer {
	private readonly files: LRUCache<string, FileResult>;
	private readonly byMapping = new WeakMap<Mapping, FileResult>();
	/** Files by the identity the kernel reported, to skip the open for each new process. */
	private readonly byFileKey: LRUCache<string, FileResult>;
	/** Per mapping, the frames named in it and the one range object they all share. */
	private readonly frameCache = new WeakMap<Mapping, { range: MappingRange; frames: Map<bigint, Frame> }>();
	private readonly kernelFrames = new LRUCache<bigint, Frame>({ max: 50000 });
	private kernel?: KernelSymbols;
	private readonly procRoot: string;
	private readonly loadKernelSymbols: () => KernelSymbols;
	private readonly debugFiles: DebugFiles;
	private readonly demangle: (mangled: string) => string | undefined;
	private vdso?: FileResult;
	private readonly jit: JitSymbols;
	private fileHits = 0;
	private fileMisses = 0;
	private fileErrors = 0;
	/**
	 * Frames named through a JIT's map so far. Those names change as the JIT
	 * writes its map, so a caller that keeps named stacks keeps none that
	 * raised this count.
	 */
	jitFrames = 0;

	constructor(options: SymbolizerOptions = {}) {
		this.files = new LRUCache({ max: options.maxFiles ?? 512 });
		this.byFileKey = new LRUCache({ max: (options.maxFiles ?? 512) * 2 });
		this.procRoot = options.procRoot ?? "/proc";
		this.loadKernelSymbols = options.loadKernelSymbols ?? (() => loadKallsyms());
		this.debugFiles = new DebugFiles({ debugRoot: options.debugRoot ?? "/usr/lib/debug" });
		this.demangle = options.demangle ?? (() => undefined);
		this.jit = options.jit ?? new JitSymbols({ procRoot: this.procRoot });
	}

	/**
	 * Distribution binaries are stripped to .dynsym; their full symbol
	 * tables ship as separate debug files, where perf and gdb look too.
	 */
	private withDebugSymbols(elf: ElfImage, fd?: number, dirs: readonly string[] = [], dir?: string): FileResult {
		const found = this.debugFiles.find(elf, fd, dirs, dir);
		return { elf, symbols: found.symbols, fullSymbols: found.full };
	}

	/** Every process maps the same vDSO as tsprof itself, so tsprof reads its own. */
	private vdsoFile(): FileResult {
		if (!this.vdso) {
			try {
				this.vdso = this.withDebugSymbols(readOwnVdso());
			} catch (error) {
				this.vdso = { error: `vdso: ${(error as Error).message}` };
			}
		}
		return this.vdso;
	}

	/** Loads what every session needs (kernel symbols) ahead of the first sample. */
	preload(): void {
		this.kernel ??= this.loadKernelSymbols();
	}

	/**
	 * Names a kernel address. `returnAddress`: the address is where a call
	 * returns to, so the call itself is one byte earlier (it may be the last
	 * instruction of its function).
	 */
	kernelFrame(ip: bigint, returnAddress: boolean): Frame {
		const cached = this.kernelFrames.get(ip);
		if (cached) return cached;
		this.kernel ??= this.loadKernelSymbols();
		const hit = this.kernel.lookup(returnAddress ? ip - 1n : ip);
		let frame: Frame;
		if (hit) frame = { name: hit.name, module: KERNEL_MODULE, kernel: true, address: ip };
		else {
			const reason = Reason.noSymbols(this.kernel.unavailableReason ? `(${this.kernel.unavailableReason})` : "in the kernel");
			frame = { name: unknownName(ip, reason), module: KERNEL_MODULE, kernel: true, address: ip, unknownReason: reason };
		}
		this.kernelFrames.set(ip, frame);
		return frame;
	}

	/** Names a user address of process `pid` (which may have exited) through `image`. */
	userFrame(pid: number, image: Image, ip: bigint, returnAddress: boolean): Frame {
		const m = image.find(ip);
		if (!m) return this.unmapped(pid, image, ip);
		// JIT code moves and its map grows: the JIT names cache their own frames.
		if (isAnonymousPath(m.path)) {
			this.jitFrames++;
			return this.jit.frame(pid, image, ip, { start: m.start, limit: m.end, offset: m.pgoff });
		}
		let named = this.frameCache.get(m);
		if (!named) {
			named = { range: { start: m.start, limit: m.end, offset: m.pgoff }, frames: new Map() };
			this.frameCache.set(m, named);
		}
		const cached = named.frames.get(ip);
		if (cached) return cached;
		const frame = this.nameInMapping(pid, m, named.range, ip, returnAddress);
		if (named.frames.size < 65536) named.frames.set(ip, frame);
		return frame;
	}

	/**
	 * An address outside every mapping captured for the process: code mapped
	 * in a way perf reports no record for (a JIT's mprotect), or a process
	 * whose mappings were missed.
	 */
	private unmapped(pid: number, image: Image, ip: bigint): Frame {
		if (this.jit.hasMap(pid, image)) {
			this.jitFrames++;
			const frame = this.jit.frame(pid, image, ip);
			if (!frame.unknownReason) return frame;
		}
		const reason = Reason.noMapping(image.mappings.length === 0 ? "none was captured for the process" : "the address is outside the captured mappings");
		return { name: unknownName(ip, reason), module: "[unknown]", kernel: false, address: ip, unknownReason: reason };
	}

	private nameInMapping(pid: number, m: Mapping, mapping: MappingRange, ip: bigint, returnAddress: boolean): Frame {
		if (m.path.startsWith("[") && m.path !== "[vdso]") return this.unknownInMapping(mapping, ip, m.path, Reason.noSymbols(`in ${m.path}`), m.buildId);
		const file = m.path === "[vdso]" ? this.vdsoFile() : this.fileFor(pid, m);
		if ("error" in file) return this.unknownInMapping(mapping, ip, m.path, Reason.unreadable(file.error), m.buildId);
		const buildId = m.buildId ?? file.elf.buildId;
		const module = file.deleted ? `${m.path}${DELETED}` : m.path;
		const offset = Number(ip - m.start + m.pgoff) - (returnAddress ? 1 : 0);
		const vaddr = fileOffsetToVaddr(file.elf, offset);
		const hit = vaddr === undefined ? undefined : file.symbols.lookup(vaddr);
		if (!hit) return this.unknownInMapping(mapping, ip, module, file.fullSymbols ? Reason.noSymbols() : Reason.stripped(), buildId);
		// Frames are cached, so each distinct name is demangled once.
		const name = hit.name.startsWith("_Z") || hit.name.startsWith("_R") ? (this.demangle(hit.name) ?? hit.name) : hit.name;
		// One object literal of one shape: this runs once per new address, and spreads cost more than the lookup.
		return { name, module, kernel: false, address: ip, mapping, buildId };
	}

	private unknownInMapping(mapping: MappingRange, ip: bigint, module: string, reason: string, buildId: string | undefined): Frame {
		return { name: unknownName(ip, reason), module, kernel: false, address: ip, mapping, unknownReason: reason, ...(buildId ? { buildId } : {}) };
	}

	private fileFor(pid: number, m: Mapping): FileResult {
		const known = this.byMapping.get(m) ?? (m.fileKey ? this.byFileKey.get(m.fileKey) : undefined);
		if (known) {
			this.byMapping.set(m, known);
			return known;
		}
		const result = this.openFile(pid, m);
		this.byMapping.set(m, result);
		// Only a success is shared: another process may still be able to open what this one could not.
		if (m.fileKey && "elf" in result) this.byFileKey.set(m.fileKey, result);
		return result;
	}

	private openFile(pid: number, m: Mapping): FileResult {
		let lastError = "no file";
		const found = openMappedFile(this.procRoot, pid, m, (fd, st, path) => {
			const id = fileIdentity(st);
			let result = this.files.get(id);
			if (result) this.fileHits++;
			else {
				this.fileMisses++;
				try {
					const dir = dirname(m.path);
					result = this.withDebugSymbols(readElf(fd, st.size), fd, [`${this.procRoot}/${pid}/root${dir}`, dir], dir);
				} catch (error) {
					this.fileErrors++;
					result = { error: `bad ELF: ${(error as Error).message}` };
				}
				this.files.set(id, result);
			}
			// A reused pid's root may show another file under the same
			// name; the build-id, when the kernel gave one, settles it.
			if ("elf" in result && m.buildId && result.elf.buildId && m.buildId !== result.elf.buildId) {
				lastError = "build-id mismatch";
				return undefined;
			}
			if ("elf" in result && path.includes("/map_files/") && isDeleted(this.procRoot, pid, m, st.dev, st.ino)) {
				return { ...result, deleted: true };
			}
			return result;
		});
		if (found) return found;
		this.fileErrors++;
		return { error: lastError };
	}

	stats(): SymbolizerStats {
		return { filesCached: this.files.size, fileHits: this.fileHits, fileMisses: this.fileMisses, fileErrors: this.fileErrors };
	}
}

/** A file's identity for caches: the same bytes until it is replaced or touched. */
export function fileIdentity(st: Stats): string {
	return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * Paths to try, most faithful first: the exact file the process maps
 * (works across mount namespaces and after deletion, while it lives),
 * then the path as the process sees it, then the path as we see it.
 */
function candidates(procRoot: string, pid: number, m: Mapping): string[] {
	const mapFile = `${procRoot}/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`;
	if (m.path.endsWith(DELETED)) return [mapFile];
	return [mapFile, `${procRoot}/${pid}/root${m.path}`, m.path];
}

/** Whether the mapped file is gone from its path: its frames say so. */
function isDeleted(procRoot: string, pid: number, m: Mapping, dev: number, ino: number): boolean {
	if (m.path.endsWith(DELETED)) return false;
	for (const path of [`${procRoot}/${pid}/root${m.path}`, m.path]) {
		try {
			const st = statSync(path);
			return st.dev !== dev || st.ino !== ino;
		} catch {
			// try the next view of the path
		}
	}
	return true;
}

/**
 * Opens the file behind mapping `m` of process `pid` (which may have exited)
 * and hands each regular file found, open, to `use`, most faithful path
 * first, until `use` returns something other than undefined. The descriptor
 * is closed when `use` returns. The one way tsprof opens mapped files: the
 * symbolizer and the unwinder both read through it.
 */
export function openMappedFile<T>(procRoot: string, pid: number, m: Mapping, use: (fd: number, st: Stats, path: string) => T | undefined): T | undefined {
	for (const path of candidates(procRoot, pid, m)) {
		let fd: number;
		try {
			fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
		} catch {
			continue;
		}
		try {
			const st = fstatSync(fd);
			if (!st.isFile()) continue;
			const result = use(fd, st, path);
			if (result !== undefined) return result;
		} finally {
			closeSync(fd);
		}
	}
	return undefined;
}
