/**
 * Writes a Recorder's profile to its file so that the file is a valid
 * profile at every moment:
 * - `start` writes the header as a first gzip member;
 * - each `checkpoint` appends one gzip member holding one pprof chunk: the
 *   strings, tables and samples new since the last one. gzip readers
 *   (gunzip, Go's, zlib's) read concatenated members as one stream, and the
 *   concatenated chunks merge into one profile, so a SIGKILL loses only
 *   what came after the last checkpoint. A failed append is cut off again;
 * - `finish` appends the rest, then compacts: the whole profile, encoded
 *   once, is written beside the file and renamed over it.
 * If the file cannot take more (full disk, removed directory), `rescue`
 * writes what is in memory to the temp directory instead.
 */
import {
	closeSync,
	ftruncateSync,
	openSync,
	renameSync,
	rmSync,
	writeFileSync,
	writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Recorder } from "../profile/recorder.js";
import { encodeProfile } from "./pprof.js";
import { PprofEncoder } from "./pprof-encoder.js";

/** A write that failed, with a message fit for the user's one line. */
export class RecordingWriteError extends Error {
	constructor(
		readonly file: string,
		cause: unknown,
	) {
		super(`cannot write ${file}: ${describeWriteError(cause)}`);
	}
}

/** Words for the errno codes a write meets in practice. */
export function describeWriteError(e: unknown): string {
	const code = (e as NodeJS.ErrnoException)?.code;
	switch (code) {
		case "ENOSPC":
			return "no space left on device";
		case "EDQUOT":
			return "disk quota exceeded";
		case "EACCES":
		case "EPERM":
			return "permission denied";
		case "ENOENT":
			return "no such directory";
		case "EROFS":
			return "read-only file system";
		case "EISDIR":
			return "is a directory";
		default:
			return code ?? (e instanceof Error ? e.message : String(e));
	}
}

/** The file of one recording, kept valid by construction. */
export class RecordingFile {
	readonly #recorder: Recorder;
	readonly #lost: () => number;
	readonly #now: () => number;
	#encoder = new PprofEncoder();
	#fd: number | undefined;
	/** Bytes of whole members on disk. */
	#size = 0;
	/** Set when an append failed: later chunks would refer to what it lost. */
	#broken: RecordingWriteError | undefined;

	/**
	 * `lost` gives the sampler's lost count in all, `now` the wall clock in
	 * ms; the file is `recorder.file`.
	 */
	constructor(recorder: Recorder, lost: () => number, now: () => number = Date.now) {
		this.#recorder = recorder;
		this.#lost = lost;
		this.#now = now;
	}

	get file(): string {
		return this.#recorder.file;
	}

	/** Bytes on disk. */
	get size(): number {
		return this.#size;
	}

	/** Creates (or empties) the file and writes the header. Throws RecordingWriteError. */
	start(): void {
		try {
			this.#fd = openSync(this.file, "w", 0o644);
		} catch (e) {
			throw new RecordingWriteError(this.file, e);
		}
		this.#size = 0;
		this.#broken = undefined;
		this.#encoder = new PprofEncoder();
		this.checkpoint();
	}

	/** Appends what changed since the last checkpoint; returns the bytes appended. */
	checkpoint(): number {
		if (this.#broken) throw this.#broken;
		if (this.#fd === undefined) throw new Error("the recording file is not open");
		const meta = this.#recorder.meta(this.#now(), this.#lost());
		const member = gzipSync(this.#encoder.chunk(this.#recorder.takeChanges(), meta));
		try {
			let off = 0;
			while (off < member.length) off += writeSync(this.#fd, member, off, member.length - off, this.#size + off);
		} catch (e) {
			// A member cut short would make the whole file unreadable: cut it off.
			try {
				ftruncateSync(this.#fd, this.#size);
			} catch {
				// The file keeps a torn tail; readers say so.
			}
			this.#broken = new RecordingWriteError(this.file, e);
			throw this.#broken;
		}
		this.#size += member.length;
		return member.length;
	}

	/**
	 * Appends the rest, then replaces the file by the compacted profile, and
	 * returns its size. If only the compaction fails, the appended file
	 * stays, complete, and `compactError` says why. Throws
	 * RecordingWriteError when the file holds no complete profile.
	 */
	finish(): { size: number; compactError?: string } {
		let appended = this.#broken === undefined;
		if (appended) {
			try {
				this.checkpoint();
			} catch {
				appended = false;
			}
		}
		this.#close();
		const tmp = join(dirname(this.file), `.${basename(this.file)}.tmp-${process.pid}`);
		try {
			const whole = encodeProfile(this.#recorder.profile(this.#now(), this.#lost()));
			writeFileSync(tmp, whole);
			renameSync(tmp, this.file);
			this.#size = whole.length;
			return { size: whole.length };
		} catch (e) {
			rmSync(tmp, { force: true });
			if (!appended) throw this.#broken ?? new RecordingWriteError(this.file, e);
			return { size: this.#size, compactError: describeWriteError(e) };
		}
	}

	/**
	 * Writes the whole profile to the temp directory, for when the file
	 * cannot take it; returns where it went. Throws when that fails too.
	 */
	rescue(): string {
		this.#close();
		const path = join(tmpdir(), `tsprof-rescue-${process.pid}-${this.#now()}.pb.gz`);
		writeFileSync(path, encodeProfile(this.#recorder.profile(this.#now(), this.#lost())));
		return path;
	}

	#close(): void {
		if (this.#fd === undefined) return;
		try {
			closeSync(this.#fd);
		} catch {
			// Nothing more to write through it.
		}
		this.#fd = undefined;
	}
}
