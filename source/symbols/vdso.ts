/**
 * The vDSO's symbols. It is not a file anyone can open, but every process
 * of one architecture maps the same image, so tsprof reads its own copy out
 * of its memory and parses it like any ELF.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ElfImage, readElfFile } from "./elf-reader.js";

/** Parses the [vdso] mapping of this process; throws when there is none. */
export function readOwnVdso(procSelf = "/proc/self"): ElfImage {
	return withOwnVdsoFile(readElfFile, procSelf);
}

/**
 * Copies the [vdso] mapping of this process to a private temporary file and
 * hands its path to `read` (the ELF readers work on files); throws when
 * there is none.
 */
export function withOwnVdsoFile<T>(read: (path: string) => T, procSelf = "/proc/self"): T {
	const line = readFileSync(`${procSelf}/maps`, "utf8")
		.split("\n")
		.find((l) => l.endsWith("[vdso]"));
	const m = line && /^([0-9a-f]+)-([0-9a-f]+)/.exec(line);
	if (!m) throw new Error("no [vdso] mapping");
	const start = Number.parseInt(m[1], 16);
	const size = Number.parseInt(m[2], 16) - start;
	if (!(size > 0 && size <= 1 << 20)) throw new Error("implausible [vdso] size");
	const bytes = Buffer.alloc(size);
	const fd = openSync(`${procSelf}/mem`, "r");
	try {
		readSync(fd, bytes, 0, size, start);
	} finally {
		closeSync(fd);
	}
	// The ELF reader works on descriptors; a private temporary file is one.
	const dir = mkdtempSync(join(tmpdir(), "tsprof-vdso-"));
	try {
		const path = join(dir, "vdso.so");
		writeFileSync(path, bytes);
		return read(path);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
