/**
 * Decoder of perf side-band records (the kernel's stable perf_event ABI,
 * include/uapi/linux/perf_event.h), as the side-band events are opened by
 * native/sideband.cc: sample_type TID|TIME with sample_id_all, so every
 * record but FORK/EXIT ends with {u32 pid, u32 tid, u64 time}.
 */
import { cString, type SidebandChunk } from "./abi.js";

const PERF_RECORD_LOST = 2;
const PERF_RECORD_COMM = 3;
const PERF_RECORD_EXIT = 4;
const PERF_RECORD_FORK = 7;
const PERF_RECORD_MMAP2 = 10;
const MISC_COMM_EXEC = 1 << 13;
const MISC_MMAP_BUILD_ID = 1 << 14;
const PROT_EXEC = 4;
const HEADER = 8;
const SAMPLE_ID = 16;

/** A new process or thread (pid = tgid). */
export interface ForkRecord {
	readonly kind: "fork";
	readonly timeNs: bigint;
	readonly pid: number;
	readonly ppid: number;
	readonly tid: number;
	readonly ptid: number;
}
/** A thread or process ended. */
export interface ExitRecord {
	readonly kind: "exit";
	readonly timeNs: bigint;
	readonly pid: number;
	readonly tid: number;
}
/** A comm change; `exec` when it comes from exec (a new image starts). */
export interface CommRecord {
	readonly kind: "comm";
	readonly timeNs: bigint;
	readonly pid: number;
	readonly tid: number;
	readonly comm: string;
	readonly exec: boolean;
}
/** An executable mapping. */
export interface Mmap2Record {
	readonly kind: "mmap";
	readonly timeNs: bigint;
	readonly pid: number;
	readonly tid: number;
	readonly start: bigint;
	readonly length: bigint;
	readonly pgoff: bigint;
	readonly filename: string;
	/** Hex, when the kernel could read it (the file's first page was cached). */
	readonly buildId?: string;
	readonly dev?: { readonly major: number; readonly minor: number; readonly ino: bigint };
	readonly executable: boolean;
}
/** The ring overflowed and the kernel dropped `lost` records. */
export interface LostRecord {
	readonly kind: "lost";
	readonly timeNs: bigint;
	readonly lost: number;
}

export type SidebandRecord = ForkRecord | ExitRecord | CommRecord | Mmap2Record | LostRecord;

function hex(bytes: Uint8Array): string {
	let s = "";
	for (const b of bytes) s += b.toString(16).padStart(2, "0");
	return s;
}

/** Decodes one CPU's chunk; a record that does not fit its own size ends the chunk. */
export function decodeSidebandChunk(chunk: SidebandChunk): SidebandRecord[] {
	const out: SidebandRecord[] = [];
	const b = chunk.bytes;
	const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
	let off = 0;
	while (off + HEADER <= b.length) {
		const type = view.getUint32(off, true);
		const misc = view.getUint16(off + 4, true);
		const size = view.getUint16(off + 6, true);
		if (size < HEADER || off + size > b.length) break;
		const end = off + size;
		const p = off + HEADER;
		const trailerTime = () => view.getBigUint64(end - 8, true);
		switch (type) {
			case PERF_RECORD_FORK:
			case PERF_RECORD_EXIT: {
				if (size < HEADER + 24) break;
				const pid = view.getUint32(p, true);
				const ppid = view.getUint32(p + 4, true);
				const tid = view.getUint32(p + 8, true);
				const ptid = view.getUint32(p + 12, true);
				const timeNs = view.getBigUint64(p + 16, true);
				out.push(type === PERF_RECORD_FORK ? { kind: "fork", timeNs, pid, ppid, tid, ptid } : { kind: "exit", timeNs, pid, tid });
				break;
			}
			case PERF_RECORD_COMM: {
				if (size < HEADER + 8 + SAMPLE_ID) break;
				out.push({
					kind: "comm",
					timeNs: trailerTime(),
					pid: view.getUint32(p, true),
					tid: view.getUint32(p + 4, true),
					comm: cString(b, p + 8, end - SAMPLE_ID - (p + 8)),
					exec: (misc & MISC_COMM_EXEC) !== 0,
				});
				break;
			}
			case PERF_RECORD_MMAP2: {
				if (size < HEADER + 64 + SAMPLE_ID) break;
				const withBuildId = (misc & MISC_MMAP_BUILD_ID) !== 0;
				const idSize = Math.min(b[p + 32], 20);
				const prot = view.getUint32(p + 56, true);
				out.push({
					kind: "mmap",
					timeNs: trailerTime(),
					pid: view.getUint32(p, true),
					tid: view.getUint32(p + 4, true),
					start: view.getBigUint64(p + 8, true),
					length: view.getBigUint64(p + 16, true),
					pgoff: view.getBigUint64(p + 24, true),
					buildId: withBuildId && idSize > 0 ? hex(b.subarray(p + 36, p + 36 + idSize)) : undefined,
					dev: withBuildId
						? undefined
						: { major: view.getUint32(p + 32, true), minor: view.getUint32(p + 36, true), ino: view.getBigUint64(p + 40, true) },
					executable: (prot & PROT_EXEC) !== 0,
					filename: cString(b, p + 64, end - SAMPLE_ID - (p + 64)),
				});
				break;
			}
			case PERF_RECORD_LOST: {
				if (size < HEADER + 16 + SAMPLE_ID) break;
				out.push({ kind: "lost", timeNs: trailerTime(), lost: Number(view.getBigUint64(p + 8, true)) });
				break;
			}
		}
		off = end;
	}
	return out;
}

/** All chunks' records in time order: each ring is ordered, but one process's records land on several CPUs. */
export function mergeSideband(chunks: readonly SidebandChunk[]): SidebandRecord[] {
	const all: SidebandRecord[] = [];
	for (const c of chunks) for (const r of decodeSidebandChunk(c)) all.push(r);
	// Array.prototype.sort is stable, so same-time records keep ring order.
	return all.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
}
