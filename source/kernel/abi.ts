/**
 * Decoder of the addon's drain buffers (layout: bpf/tsprof.h). The offsets
 * below restate the C structs; test/kernel/abi.test.ts holds them to the
 * addon's own sizeof/offsetof, so a change on one side fails the test.
 */

export const COMM_LEN = 16;
export const FILENAME_LEN = 256;
export const DRAIN_MAGIC = 0x7473706f;
export const DRAIN_VERSION = 2;
/** The most user stack one sample can carry (TSPROF_STACK_COPY_MAX). */
export const STACK_COPY_MAX = 16384;

/** Offsets and sizes of bpf/tsprof.h, by struct and field. */
export const LAYOUT = {
	tsprof_count_key: { size: 32, pid: 0, tid: 4, start_ns: 8, exec_id: 16, ustack_id: 24, kstack_id: 28 },
	tsprof_count_rec: { size: 40, key: 0, count: 32 },
	tsprof_event: {
		size: 312,
		ktime_ns: 0,
		start_ns: 8,
		exec_id: 16,
		type: 24,
		pid: 28,
		tid: 32,
		ppid: 36,
		comm: 40,
		filename: 56,
	},
	tsprof_kstats: {
		size: 56,
		samples: 0,
		lost_count_full: 8,
		lost_ustack: 16,
		lost_kstack: 24,
		lost_events: 32,
		lost_sample_ring: 40,
		stack_bytes: 48,
	},
	tsprof_sample: {
		size: 72,
		ktime_ns: 0,
		start_ns: 8,
		exec_id: 16,
		pid: 24,
		tid: 28,
		ip: 32,
		sp: 40,
		bp: 48,
		flags: 56,
		stack_bytes: 60,
		kstack_nr: 64,
	},
	tsprof_drain_header: {
		size: 128,
		magic: 0,
		version: 4,
		drain_ktime_ns: 8,
		kstats: 16,
		n_events: 72,
		n_counts: 76,
		n_stacks: 80,
		n_sideband_chunks: 84,
		n_samples: 88,
		batch_deletes: 96,
		fallback_deletes: 104,
		delete_failures: 112,
		lost_stack_reads: 120,
	},
	tsprof_stack_rec: { size: 8, id: 0, nr: 4 },
	tsprof_sideband_chunk: { size: 8, cpu: 0, bytes: 4 },
} as const;

/** A process lifecycle event from the BPF tracepoints. */
export interface KernelEvent {
	readonly type: "exec" | "exit" | "fork";
	readonly ktimeNs: bigint;
	readonly pid: number;
	readonly tid: number;
	readonly ppid: number;
	readonly startNs: bigint;
	readonly execId: bigint;
	readonly comm: string;
	/** Only for exec: the path given to execve (may be relative). */
	readonly filename: string;
}

/** One entry of the in-kernel counts map. */
export interface CountRecord {
	readonly pid: number;
	readonly tid: number;
	readonly startNs: bigint;
	readonly execId: bigint;
	/** Negative when there is no stack of that kind. */
	readonly ustackId: number;
	readonly kstackId: number;
	readonly count: number;
}

/** tsprof_sample.flags */
export const SAMPLE_USER_REGS = 1;
export const SAMPLE_COPY_BUDGET = 2;
export const SAMPLE_COPY_FAULT = 4;

/** The user registers of a sampled thread, as the unwinder starts from them. */
export interface UserRegs {
	readonly ip: bigint;
	readonly sp: bigint;
	readonly bp: bigint;
}

/** One CPU sample as the perf_event program sent it: registers, stack copy, kernel stack. */
export interface SampleRecord {
	readonly ktimeNs: bigint;
	readonly pid: number;
	readonly tid: number;
	readonly startNs: bigint;
	readonly execId: bigint;
	/** Absent for kernel threads, which have no user side. */
	readonly regs?: UserRegs;
	/** User stack from `regs.sp` upwards (a view into the drain buffer). */
	readonly stack: Uint8Array;
	/** The copy stopped at its byte budget, not at the end of the stack. */
	readonly stackCut: boolean;
	/** Kernel instruction pointers, innermost first. */
	readonly kernelIps: BigUint64Array;
}

/** Raw perf side-band records of one CPU, in that ring's order. */
export interface SidebandChunk {
	readonly cpu: number;
	readonly bytes: Uint8Array;
}

/** Counters the BPF programs keep, cumulative since load. */
export interface KernelCounters {
	readonly samples: number;
	readonly lostCountFull: number;
	readonly lostUserStack: number;
	readonly lostKernelStack: number;
	readonly lostEvents: number;
	/** The samples ring was full. */
	readonly lostSampleRing: number;
	/** User stack bytes copied by the kernel, over all samples. */
	readonly stackBytes: number;
}

/** Everything one drain returned. */
export interface Drain {
	readonly drainKtimeNs: bigint;
	readonly counters: KernelCounters;
	readonly events: readonly KernelEvent[];
	readonly counts: readonly CountRecord[];
	/** Stack id -> instruction pointers, innermost first. */
	readonly stacks: ReadonlyMap<number, BigUint64Array>;
	readonly sideband: readonly SidebandChunk[];
	/** CPU samples, in the ring's order. */
	readonly samples: readonly SampleRecord[];
	readonly cleanup: { readonly batchDeletes: number; readonly fallbackDeletes: number; readonly failures: number };
	readonly lostStackReads: number;
}

const EVENT_TYPES: Record<number, KernelEvent["type"]> = { 1: "exec", 2: "exit", 3: "fork" };
const text = new TextDecoder();

/** A NUL-terminated C string inside a fixed-size field. */
export function cString(bytes: Uint8Array, offset: number, length: number): string {
	let end = offset;
	const limit = Math.min(offset + length, bytes.length);
	while (end < limit && bytes[end] !== 0) end++;
	return text.decode(bytes.subarray(offset, end));
}

/** Decodes one drain buffer; throws on a buffer that does not fit its own header. */
export function decodeDrain(buffer: ArrayBuffer): Drain {
	const view = new DataView(buffer);
	const bytes = new Uint8Array(buffer);
	const H = LAYOUT.tsprof_drain_header;
	if (buffer.byteLength < H.size) throw new Error(`drain buffer too short (${buffer.byteLength} bytes)`);
	if (view.getUint32(H.magic, true) !== DRAIN_MAGIC || view.getUint32(H.version, true) !== DRAIN_VERSION) {
		throw new Error("drain buffer has the wrong magic or version: the addon and the TypeScript disagree");
	}
	const u64 = (o: number) => Number(view.getBigUint64(o, true));
	const K = LAYOUT.tsprof_kstats;
	const counters: KernelCounters = {
		samples: u64(H.kstats + K.samples),
		lostCountFull: u64(H.kstats + K.lost_count_full),
		lostUserStack: u64(H.kstats + K.lost_ustack),
		lostKernelStack: u64(H.kstats + K.lost_kstack),
		lostEvents: u64(H.kstats + K.lost_events),
		lostSampleRing: u64(H.kstats + K.lost_sample_ring),
		stackBytes: u64(H.kstats + K.stack_bytes),
	};
	const nEvents = view.getUint32(H.n_events, true);
	const nCounts = view.getUint32(H.n_counts, true);
	const nStacks = view.getUint32(H.n_stacks, true);
	const nChunks = view.getUint32(H.n_sideband_chunks, true);
	const nSamples = view.getUint32(H.n_samples, true);
	let off = H.size;
	const need = (n: number) => {
		if (off + n > buffer.byteLength) throw new Error("drain buffer is truncated");
	};

	const E = LAYOUT.tsprof_event;
	need(nEvents * E.size);
	const events: KernelEvent[] = [];
	for (let i = 0; i < nEvents; i++, off += E.size) {
		const type = EVENT_TYPES[view.getUint32(off + E.type, true)];
		if (!type) continue;
		events.push({
			type,
			ktimeNs: view.getBigUint64(off + E.ktime_ns, true),
			startNs: view.getBigUint64(off + E.start_ns, true),
			execId: view.getBigUint64(off + E.exec_id, true),
			pid: view.getUint32(off + E.pid, true),
			tid: view.getUint32(off + E.tid, true),
			ppid: view.getUint32(off + E.ppid, true),
			comm: cString(bytes, off + E.comm, COMM_LEN),
			filename: type === "exec" ? cString(bytes, off + E.filename, FILENAME_LEN) : "",
		});
	}

	const R = LAYOUT.tsprof_count_rec;
	const Kk = LAYOUT.tsprof_count_key;
	need(nCounts * R.size);
	const counts: CountRecord[] = new Array(nCounts);
	for (let i = 0; i < nCounts; i++, off += R.size) {
		const k = off + R.key;
		counts[i] = {
			pid: view.getUint32(k + Kk.pid, true),
			tid: view.getUint32(k + Kk.tid, true),
			startNs: view.getBigUint64(k + Kk.start_ns, true),
			execId: view.getBigUint64(k + Kk.exec_id, true),
			ustackId: view.getInt32(k + Kk.ustack_id, true),
			kstackId: view.getInt32(k + Kk.kstack_id, true),
			count: Number(view.getBigUint64(off + R.count, true)),
		};
	}

	const S = LAYOUT.tsprof_stack_rec;
	const stacks = new Map<number, BigUint64Array>();
	for (let i = 0; i < nStacks; i++) {
		need(S.size);
		const id = view.getInt32(off + S.id, true);
		const nr = view.getUint32(off + S.nr, true);
		off += S.size;
		need(nr * 8);
		// Copied out: the buffer is 8-aligned only by luck of the layout.
		const ips = new BigUint64Array(nr);
		for (let j = 0; j < nr; j++) ips[j] = view.getBigUint64(off + j * 8, true);
		off += nr * 8;
		stacks.set(id, ips);
	}

	const C = LAYOUT.tsprof_sideband_chunk;
	const sideband: SidebandChunk[] = [];
	for (let i = 0; i < nChunks; i++) {
		need(C.size);
		const cpu = view.getUint32(off + C.cpu, true);
		const len = view.getUint32(off + C.bytes, true);
		off += C.size;
		need(len);
		sideband.push({ cpu, bytes: bytes.subarray(off, off + len) });
		off += len;
	}

	const P = LAYOUT.tsprof_sample;
	const samples: SampleRecord[] = new Array(nSamples);
	for (let i = 0; i < nSamples; i++) {
		need(P.size);
		const flags = view.getUint32(off + P.flags, true);
		const stackBytes = view.getUint32(off + P.stack_bytes, true);
		const kstackNr = view.getUint32(off + P.kstack_nr, true);
		const body = off + P.size;
		const length = P.size + stackBytes + kstackNr * 8;
		need(length);
		const kernelIps = new BigUint64Array(kstackNr);
		for (let j = 0; j < kstackNr; j++) kernelIps[j] = view.getBigUint64(body + stackBytes + j * 8, true);
		samples[i] = {
			ktimeNs: view.getBigUint64(off + P.ktime_ns, true),
			pid: view.getUint32(off + P.pid, true),
			tid: view.getUint32(off + P.tid, true),
			startNs: view.getBigUint64(off + P.start_ns, true),
			execId: view.getBigUint64(off + P.exec_id, true),
			...(flags & SAMPLE_USER_REGS
				? { regs: { ip: view.getBigUint64(off + P.ip, true), sp: view.getBigUint64(off + P.sp, true), bp: view.getBigUint64(off + P.bp, true) } }
				: {}),
			stack: bytes.subarray(body, body + stackBytes),
			stackCut: (flags & SAMPLE_COPY_BUDGET) !== 0,
			kernelIps,
		};
		// Records are padded to 8 bytes, so the next header stays aligned.
		off += (length + 7) & ~7;
	}

	return {
		drainKtimeNs: view.getBigUint64(H.drain_ktime_ns, true),
		counters,
		events,
		counts,
		stacks,
		sideband,
		samples,
		cleanup: { batchDeletes: u64(H.batch_deletes), fallbackDeletes: u64(H.fallback_deletes), failures: u64(H.delete_failures) },
		lostStackReads: u64(H.lost_stack_reads),
	};
}
