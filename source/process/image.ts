/**
 * The executable mappings of one process image: what a user address means
 * in that process between one exec and the next.
 */

/** A file mapped into a process. */
export interface Mapping {
	readonly start: bigint;
	/** Exclusive. */
	readonly end: bigint;
	/** File offset of `start`. */
	readonly pgoff: bigint;
	/** As the kernel named it; may end in " (deleted)", or be "[vdso]", or "//anon" for anonymous memory. */
	readonly path: string;
	readonly buildId?: string;
	/**
	 * The file's identity as the kernel reported it (build-id, or device and
	 * inode), so its symbols are found again without opening it.
	 */
	readonly fileKey?: string;
}

/** The identity of a mapped file from what the kernel says about it. */
export function fileKeyOf(buildId: string | undefined, dev: { major: number; minor: number; ino: bigint } | undefined): string | undefined {
	if (buildId) return `b:${buildId}`;
	if (dev && dev.ino !== 0n) return `d:${dev.major}:${dev.minor}:${dev.ino}`;
	return undefined;
}

/** The mappings of one process image, sorted by address, non-overlapping. */
export class Image {
	private list: Mapping[] = [];
	/** The main executable, once known. */
	exe = "";
	/** The command name this image runs under (it changes on exec). */
	comm = "";

	/** Maps `m`, replacing whatever it overlaps, as mmap(MAP_FIXED) does. */
	add(m: Mapping): void {
		if (m.end <= m.start) return;
		const kept: Mapping[] = [];
		for (const old of this.list) {
			if (old.end <= m.start || old.start >= m.end) {
				kept.push(old);
				continue;
			}
			if (old.start < m.start) kept.push({ ...old, end: m.start });
			if (old.end > m.end) kept.push({ ...old, start: m.end, pgoff: old.pgoff + (m.end - old.start) });
		}
		kept.push(m);
		kept.sort((a, b) => (a.start < b.start ? -1 : 1));
		this.list = kept;
	}

	/** The mapping that holds `address`. */
	find(address: bigint): Mapping | undefined {
		let lo = 0;
		let hi = this.list.length - 1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			const m = this.list[mid];
			if (address < m.start) hi = mid - 1;
			else if (address >= m.end) lo = mid + 1;
			else return m;
		}
		return undefined;
	}

	get mappings(): readonly Mapping[] {
		return this.list;
	}

	/** A copy, as a forked child starts with its parent's mappings. */
	clone(): Image {
		const c = new Image();
		c.list = this.list.slice();
		c.exe = this.exe;
		c.comm = this.comm;
		return c;
	}
}

/** How perf's side-band names anonymous memory, and how tsprof names it when read from /proc. */
export const ANON_PATH = "//anon";

/**
 * Parses /proc/PID/maps text, keeping executable mappings: file-backed ones,
 * and anonymous ones (JIT code), as {@link ANON_PATH}.
 */
export function parseProcMaps(text: string): Image {
	const image = new Image();
	for (const line of text.split("\n")) {
		// 55d0c000-55d0d000 r-xp 00001000 08:01 1234   /usr/bin/cat
		const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)\s*(.*)$/.exec(line);
		if (!m || m[3][2] !== "x") continue;
		const path = m[8] || ANON_PATH;
		const fileKey = fileKeyOf(undefined, { major: Number.parseInt(m[5], 16), minor: Number.parseInt(m[6], 16), ino: BigInt(m[7]) });
		image.add({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), pgoff: BigInt(`0x${m[4]}`), path, fileKey });
	}
	return image;
}
