/**
 * Symbols kept apart from a stripped binary, where perf and gdb find them:
 * - a debug file named by build-id under /usr/lib/debug/.build-id/;
 * - the file `.gnu_debuglink` names, beside the binary, in its `.debug/`
 *   directory, or under /usr/lib/debug plus the binary's directory, taken
 *   only when its CRC-32 matches the one in the link;
 * - MiniDebugInfo: the `.gnu_debugdata` section some distributions (Fedora)
 *   add, an xz-compressed ELF whose .symtab holds the local functions that
 *   .dynsym lacks. It is decompressed by `xz` (liblzma's command, present
 *   on every Debian), in a child process: the input comes from any binary
 *   on the machine, and a decoder fault then cannot harm tsprof.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { crc32 } from "node:zlib";
import { type ElfImage, readElfBuffer, readElfFile } from "./elf-reader.js";
import { type SymbolEntry, SymbolTable } from "./symbol-table.js";

/** The symbols to name a binary's code with, and whether they include local functions. */
export interface DebugSymbols {
	readonly symbols: SymbolTable;
	/** A full symbol table (.symtab) was found: a miss then means "no symbol there", not "stripped". */
	readonly full: boolean;
	/** Where the symbols came from: the binary, a debug file's path, or `.gnu_debugdata`. */
	readonly source: string;
}

/** Options for {@link DebugFiles}. */
export interface DebugFilesOptions {
	/** The root of separate debug files (default /usr/lib/debug). */
	readonly debugRoot?: string;
	/** Decompresses xz data; the default runs `xz -dc`. Throws on bad data. */
	readonly decompressXz?: (data: Buffer, maxBytes: number) => Buffer;
}

/** Largest debug file whose CRC is computed, and largest MiniDebugInfo accepted. */
const MAX_DEBUG_FILE_BYTES = 2 ** 31;
const MAX_DEBUGDATA_BYTES = 64 * 1024 * 1024;
const CHUNK = 1 << 20;

/** Decompresses xz data with the `xz` command. */
export function xzDecompress(data: Buffer, maxBytes: number): Buffer {
	return execFileSync("xz", ["-dc", "--single-stream"], { input: data, maxBuffer: maxBytes, timeout: 10_000, stdio: ["pipe", "pipe", "ignore"] });
}

/** CRC-32 (the one `.gnu_debuglink` uses) of a whole file, read in chunks; undefined when unreadable or too large. */
export function fileCrc32(path: string): number | undefined {
	let fd: number;
	try {
		fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
	} catch {
		return undefined;
	}
	try {
		const st = fs.fstatSync(fd);
		if (!st.isFile() || st.size > MAX_DEBUG_FILE_BYTES) return undefined;
		const buf = Buffer.alloc(CHUNK);
		let crc = 0;
		for (let pos = 0; ; ) {
			const n = fs.readSync(fd, buf, 0, CHUNK, pos);
			if (n <= 0) break;
			crc = crc32(buf.subarray(0, n), crc);
			pos += n;
		}
		return crc;
	} catch {
		return undefined;
	} finally {
		fs.closeSync(fd);
	}
}

function readRange(fd: number, offset: number, size: number): Buffer {
	const buf = Buffer.alloc(size);
	let done = 0;
	while (done < size) {
		const n = fs.readSync(fd, buf, done, size - done, offset + done);
		if (n <= 0) throw new Error("file ends early");
		done += n;
	}
	return buf;
}

/** Both tables' symbols in one table. */
function merged(a: SymbolTable, b: SymbolTable): SymbolTable {
	const entries: SymbolEntry[] = [];
	for (const s of a) entries.push({ name: s.name, start: s.start, size: s.end - s.start });
	for (const s of b) entries.push({ name: s.name, start: s.start, size: s.end - s.start });
	return new SymbolTable(entries);
}

export class DebugFiles {
	private readonly debugRoot: string;
	private readonly decompressXz: (data: Buffer, maxBytes: number) => Buffer;
	/** Files that could not be used (bad ELF, bad CRC, bad xz data). */
	errors = 0;

	constructor(options: DebugFilesOptions = {}) {
		this.debugRoot = options.debugRoot ?? "/usr/lib/debug";
		this.decompressXz = options.decompressXz ?? xzDecompress;
	}

	/**
	 * The best symbols for `elf`. `fd` reads the binary itself (for its
	 * `.gnu_debugdata`); `dirs` are the directories it lives in, as tsprof
	 * can reach them, and `dir` the one the process sees (for /usr/lib/debug).
	 */
	find(elf: ElfImage, fd: number | undefined, dirs: readonly string[], dir?: string): DebugSymbols {
		const own: DebugSymbols = { symbols: elf.symbols, full: elf.hasSymtab, source: "binary" };
		const byBuildId = this.byBuildId(elf);
		if (byBuildId && byBuildId.symbols.size > own.symbols.size) return byBuildId;
		if (elf.hasSymtab) return own;
		const linked = this.byDebugLink(elf, dirs, dir);
		if (linked) return linked;
		const mini = fd === undefined ? undefined : this.miniDebugInfo(elf, fd);
		if (mini) return mini;
		return own;
	}

	private byBuildId(elf: ElfImage): DebugSymbols | undefined {
		if (!elf.buildId || elf.buildId.length <= 2) return undefined;
		const path = `${this.debugRoot}/.build-id/${elf.buildId.slice(0, 2)}/${elf.buildId.slice(2)}.debug`;
		if (!fs.existsSync(path)) return undefined;
		try {
			const debug = readElfFile(path);
			return { symbols: debug.symbols, full: debug.hasSymtab, source: path };
		} catch {
			this.errors++;
			return undefined;
		}
	}

	private byDebugLink(elf: ElfImage, dirs: readonly string[], dir?: string): DebugSymbols | undefined {
		const link = elf.debugLink;
		if (!link) return undefined;
		const candidates: string[] = [];
		for (const d of dirs) candidates.push(`${d}/${link.file}`, `${d}/.debug/${link.file}`);
		if (dir !== undefined) candidates.push(`${this.debugRoot}${dir}/${link.file}`);
		for (const path of new Set(candidates)) {
			if (!fs.existsSync(path)) continue;
			// The CRC ties the debug file to this build: a stale one would misname.
			if (fileCrc32(path) !== link.crc) {
				this.errors++;
				continue;
			}
			try {
				const debug = readElfFile(path);
				if (debug.symbols.size === 0) continue;
				return { symbols: merged(elf.symbols, debug.symbols), full: debug.hasSymtab, source: path };
			} catch {
				this.errors++;
			}
		}
		return undefined;
	}

	private miniDebugInfo(elf: ElfImage, fd: number): DebugSymbols | undefined {
		const section = elf.debugData;
		if (!section || section.size > MAX_DEBUGDATA_BYTES) return undefined;
		try {
			const inner = readElfBuffer(this.decompressXz(readRange(fd, section.offset, section.size), 4 * MAX_DEBUGDATA_BYTES));
			if (inner.symbols.size === 0) return undefined;
			return { symbols: merged(elf.symbols, inner.symbols), full: true, source: ".gnu_debugdata" };
		} catch {
			this.errors++;
			return undefined;
		}
	}
}
