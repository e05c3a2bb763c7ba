/**
 * JIT symbols from perf map files (`/tmp/perf-PID.map`), written by V8
 * (`--perf-basic-prof`), the JVM agents, LuaJIT and others: one
 * `START SIZE name` line per function, START and SIZE in hex.
 *
 * Any user can create a file in /tmp under any pid's name, and tsprof reads
 * it as root: the loader refuses non-regular files, caps what it reads, and
 * can insist on the owner being the process's user.
 */
import fs from "node:fs";
import { type SymbolEntry, SymbolTable } from "./symbol-table.js";

/** A parsed perf map: the symbols, and how many lines were unusable. */
export interface PerfMap {
	readonly symbols: SymbolTable;
	/** Non-empty lines that were not `START SIZE name` with addresses below 2^53. */
	readonly malformedLines: number;
}

/** Why {@link loadPerfMap} found nothing. */
export interface PerfMapUnavailable {
	readonly symbols?: undefined;
	readonly reason: string;
}

/** Options for {@link loadPerfMap}. */
export interface PerfMapLoadOptions {
	/**
	 * The uid of the process the map describes. A file owned by anyone else
	 * (except root) is refused: another user could plant it to mislabel samples.
	 */
	readonly expectedUid?: number;
	/** Largest file read, in bytes (default 256 MiB); longer files are read only up to it. */
	readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const HEX = /^(?:0[xX])?([0-9a-fA-F]{1,16})$/;
const FIELDS = /^\s*(\S+)\s+(\S+)\s+/;

/** The conventional path of a process's perf map. */
export function perfMapPath(pid: number, dir = "/tmp"): string {
	return `${dir}/perf-${pid}.map`;
}

function parseHex(text: string): number | undefined {
	const match = HEX.exec(text);
	if (match === null) return undefined;
	const value = Number.parseInt(match[1], 16);
	return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Parses perf map text. Later lines win over earlier ones at the same start
 * address, because JITs reuse code space and append the newer function.
 */
export function parsePerfMap(text: string): PerfMap {
	const entries: SymbolEntry[] = [];
	let malformed = 0;
	let line = 0;
	let pos = 0;
	while (pos < text.length) {
		let end = text.indexOf("\n", pos);
		if (end < 0) end = text.length;
		const raw = text.slice(pos, end);
		pos = end + 1;
		line++;
		if (raw.trim() === "") continue;
		// START and SIZE are single tokens; the name is the rest and may hold spaces.
		// The pattern has no overlapping quantifiers, so it cannot backtrack badly.
		const match = FIELDS.exec(raw);
		const start = match === null ? undefined : parseHex(match[1]);
		const size = match === null ? undefined : parseHex(match[2]);
		const name = match === null ? "" : raw.slice(match[0].length).trimEnd();
		if (match === null || start === undefined || size === undefined || name === "") {
			malformed++;
			continue;
		}
		if (start + size > Number.MAX_SAFE_INTEGER) {
			malformed++;
			continue;
		}
		entries.push({ name, start, size, rank: line });
	}
	return { symbols: new SymbolTable(entries), malformedLines: malformed };
}

/**
 * Reads and parses a perf map file. Never throws: a missing, unreadable,
 * non-regular or foreign-owned file gives `{ reason }` instead.
 */
export function loadPerfMap(path: string, options: PerfMapLoadOptions = {}): PerfMap | PerfMapUnavailable {
	const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
	let fd: number;
	try {
		// O_NONBLOCK: a FIFO planted at the path must not block the open.
		fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
	} catch (error) {
		return { reason: `cannot open ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
	}
	try {
		const stat = fs.fstatSync(fd);
		if (!stat.isFile()) return { reason: `${path} is not a regular file` };
		if (options.expectedUid !== undefined && stat.uid !== options.expectedUid && stat.uid !== 0) {
			return { reason: `${path} is owned by uid ${stat.uid}, not by the process's uid ${options.expectedUid}` };
		}
		// The file grows while the JIT runs: read what is there, up to the cap.
		const length = Math.min(stat.size, maxBytes);
		const buf = Buffer.alloc(length);
		let done = 0;
		while (done < length) {
			const n = fs.readSync(fd, buf, done, length - done, done);
			if (n <= 0) break;
			done += n;
		}
		let text = buf.toString("utf8", 0, done);
		// Cut at the cap, the last line is partial: drop it rather than misname.
		if (stat.size > maxBytes) text = text.slice(0, text.lastIndexOf("\n") + 1);
		return parsePerfMap(text);
	} catch (error) {
		return { reason: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
	} finally {
		fs.closeSync(fd);
	}
}
