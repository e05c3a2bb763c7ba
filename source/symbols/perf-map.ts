/**
 * JIT symbols from perf map files (`/tmp/perf-PID.map`), written by V8
 * (`--perf-basic-prof`), CPython 3.12 (`-X perf`), the JVM agents, .NET and
 * others: one `START SIZE name` line per function, START and SIZE in hex.
 *
 * Any user can create a file in /tmp under any pid's name, and tsprof reads
 * it as root. A map is read only when it is a regular file reached without
 * following a symlink, owned by root or by the process's user, and writable
 * by nobody else; otherwise it is refused with a reason, and none of its
 * names is used. The file grows while the JIT runs: {@link PerfMapFile}
 * parses only what was appended since the last read.
 */
import fs from "node:fs";
import { type SymbolEntry, type SymbolHit, SymbolTable } from "./symbol-table.js";

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

/** Options for {@link loadPerfMap} and {@link PerfMapFile}. */
export interface PerfMapLoadOptions {
	/**
	 * The uids of the process the map describes (real, effective, saved, fs).
	 * A file owned by anyone else (except root) is refused: another user could
	 * plant it to mislabel samples. Undefined: any owner.
	 */
	readonly allowedUids?: readonly number[];
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
	const { entries, malformedLines } = parsePerfMapLines(text, 1);
	return { symbols: new SymbolTable(entries), malformedLines };
}

/** The entries of perf map text whose first line is number `firstLine`; ranks are line numbers. */
export function parsePerfMapLines(text: string, firstLine: number): { entries: SymbolEntry[]; malformedLines: number; lines: number } {
	const entries: SymbolEntry[] = [];
	let malformed = 0;
	let line = firstLine - 1;
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
	return { entries, malformedLines: malformed, lines: line - firstLine + 1 };
}

/** An open perf map that passed the trust checks, or why it did not. */
type Opened = { fd: number; stat: fs.Stats } | { reason: string; refused: boolean };

/**
 * Opens `path` for reading if it may be trusted: a regular file (the last
 * component is not followed if it is a symlink; a FIFO does not block the
 * open), owned by root or one of `allowedUids`, not writable by group or
 * others. The caller closes the fd.
 */
export function openTrustedPerfMap(path: string, allowedUids: readonly number[] | undefined): Opened {
	let fd: number;
	try {
		fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === "ELOOP") return { reason: `${path} is a symlink`, refused: true };
		return { reason: `cannot open ${path}: ${code ?? (error as Error).message}`, refused: false };
	}
	let stat: fs.Stats;
	try {
		stat = fs.fstatSync(fd);
	} catch (error) {
		fs.closeSync(fd);
		return { reason: `cannot stat ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, refused: false };
	}
	let reason: string | undefined;
	if (!stat.isFile()) reason = `${path} is not a regular file`;
	else if (allowedUids !== undefined && stat.uid !== 0 && !allowedUids.includes(stat.uid)) {
		reason = `${path} is owned by uid ${stat.uid}, not by the process's user (${[...new Set(allowedUids)].join(", ")})`;
	} else if ((stat.mode & 0o022) !== 0) reason = `${path} is writable by others (mode ${(stat.mode & 0o777).toString(8)})`;
	if (reason !== undefined) {
		fs.closeSync(fd);
		return { reason, refused: true };
	}
	return { fd, stat };
}

function readRange(fd: number, from: number, to: number): Buffer {
	const buf = Buffer.alloc(to - from);
	let done = 0;
	while (done < buf.length) {
		const n = fs.readSync(fd, buf, done, buf.length - done, from + done);
		if (n <= 0) break;
		done += n;
	}
	return done === buf.length ? buf : buf.subarray(0, done);
}

/**
 * Reads and parses a perf map file. Never throws: a missing, unreadable,
 * untrusted or non-regular file gives `{ reason }` instead.
 */
export function loadPerfMap(path: string, options: PerfMapLoadOptions = {}): PerfMap | PerfMapUnavailable {
	const file = new PerfMapFile(path, options);
	file.refresh();
	if (file.reason !== undefined) return { reason: file.reason };
	return { symbols: file.table(), malformedLines: file.malformedLines };
}

/** Chunks of entries kept at once before the newest are merged: lookups walk them all. */
const MAX_CHUNKS = 8;
/** Bytes of the file's start compared at each read. */
const HEAD_BYTES = 64;

/**
 * One process's perf map, read incrementally: each {@link refresh} parses
 * only the complete lines appended since the last one. A file that shrank
 * or was replaced (another inode) is read again from the start. Entries are
 * kept in chunks, newest first at lookup; chunks of similar size are merged,
 * so a file read N times costs O(log N) tables.
 */
export class PerfMapFile {
	readonly path: string;
	private readonly allowedUids?: readonly number[];
	private readonly maxBytes: number;
	private identity = "";
	/** The file's first bytes when first read: a file replaced under the same inode differs there. */
	private head = Buffer.alloc(0);
	/** Bytes consumed: up to the end of the last complete line read. */
	private offset = 0;
	private nextLine = 1;
	private chunks: { entries: SymbolEntry[]; table: SymbolTable }[] = [];
	/** Why the file gives no names now; undefined once it was read. */
	reason?: string;
	malformedLines = 0;
	/** Times a refresh found new lines, and times it started over. */
	reads = 0;
	restarts = 0;

	constructor(path: string, options: PerfMapLoadOptions = {}) {
		this.path = path;
		this.allowedUids = options.allowedUids;
		this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
	}

	/** Number of entries read so far. */
	get entries(): number {
		let n = 0;
		for (const c of this.chunks) n += c.entries.length;
		return n;
	}

	/** Reads what was appended since the last call. Never throws. */
	refresh(): void {
		const opened = openTrustedPerfMap(this.path, this.allowedUids);
		if ("reason" in opened) {
			// A map deleted (or out of reach: its container's root is gone with
			// the process) after it was read keeps naming what it named. A file
			// that turns untrusted keeps nothing it gave before.
			if (!opened.refused && this.identity !== "") return;
			this.clear();
			this.reason = opened.reason;
			return;
		}
		const { fd, stat } = opened;
		try {
			const identity = `${stat.dev}:${stat.ino}`;
			const sameHead = this.head.length === 0 || readRange(fd, 0, this.head.length).equals(this.head);
			if (identity !== this.identity || stat.size < this.offset || !sameHead) {
				if (this.identity !== "") this.restarts++;
				this.clear();
				this.identity = identity;
			}
			this.reason = undefined;
			const end = Math.min(stat.size, this.maxBytes);
			if (end <= this.offset) return;
			const bytes = readRange(fd, this.offset, end);
			// Only complete lines: the writer may be in the middle of one.
			const last = bytes.lastIndexOf(0x0a);
			if (last < 0) return;
			const text = bytes.toString("utf8", 0, last + 1);
			if (this.offset === 0) this.head = Buffer.from(bytes.subarray(0, Math.min(HEAD_BYTES, last + 1)));
			this.offset += last + 1;
			const parsed = parsePerfMapLines(text, this.nextLine);
			this.nextLine += parsed.lines;
			this.malformedLines += parsed.malformedLines;
			this.reads++;
			if (parsed.entries.length > 0) this.push(parsed.entries);
		} catch (error) {
			this.reason = `cannot read ${this.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
		} finally {
			fs.closeSync(fd);
		}
	}

	private clear(): void {
		this.identity = "";
		this.head = Buffer.alloc(0);
		this.offset = 0;
		this.nextLine = 1;
		this.chunks = [];
		this.malformedLines = 0;
	}

	private push(entries: SymbolEntry[]): void {
		this.chunks.push({ entries, table: new SymbolTable(entries) });
		// Merge while the newest chunk is at least half its predecessor, or too many.
		while (this.chunks.length >= 2) {
			const a = this.chunks[this.chunks.length - 2];
			const b = this.chunks[this.chunks.length - 1];
			if (b.entries.length * 2 < a.entries.length && this.chunks.length <= MAX_CHUNKS) break;
			const merged = a.entries.concat(b.entries);
			this.chunks.splice(-2, 2, { entries: merged, table: new SymbolTable(merged) });
		}
	}

	/** The entry covering `addr`; a newer line wins over an older one. */
	lookup(addr: number): SymbolHit | undefined {
		for (let i = this.chunks.length - 1; i >= 0; i--) {
			const hit = this.chunks[i].table.lookup(addr);
			if (hit) return hit;
		}
		return undefined;
	}

	/** Every entry read so far as one table. */
	table(): SymbolTable {
		if (this.chunks.length === 1) return this.chunks[0].table;
		return new SymbolTable(this.chunks.flatMap((c) => c.entries));
	}
}
