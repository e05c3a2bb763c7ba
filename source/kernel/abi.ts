/**
 * Decoder of the addon's drain buffers (layout: bpf/tsprof.h). The offsets
 * below restate the C structs; test/kernel/abi.test.ts holds them to the
 * addon's own sizeof/offsetof, so a change on one side fails the test.
 */

export const COMM_LEN = 16;
export const FILENAME_LEN = 256;
export const DRAIN_MAGIC = 0x7473706f;
export const DRAIN_VERSION = 3;
/** The most user stack one sample can carry (TSPROF_STACK_COPY_MAX). */
export const STACK_COPY_MAX = 16384;

/** Offsets and sizes of bpf/tsprof.h, by struct and field. */
export const LAYOUT = {
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
		size: 64,
		samples: 0,
		lost_kstack: 8,
		lost_events: 16,
		lost_sample_ring: 24,
		stack_bytes: 32,
		offcpu_blocks: 40,
		lost_offcpu: 48,
		offcpu_dropped: 56,
	},
	tsprof_offcpu: {
		size: 3160,
		ktime_ns: 0,
		blocked_ns: 8,
		start_ns: 16,
		exec_id: 24,
		pid: 32,
		tid: 36,
		state: 40,
		preempted: 44,
		kstack_nr: 48,
		ustack_nr: 52,
		ip: 56,
		sp: 64,
		bp: 72,
		stack_bytes: 80,
		data: 88,
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
		size: 120,
		magic: 0,
		version: 4,
		drain_ktime_ns: 8,
		kstats: 16,
		n_events: 80,
		n_sideband_chunks: 84,
		n_samples: 88,
		n_offcpu: 92,
		batch_deletes: 96,
		fallback_deletes: 104,
		delete_failures: 112,
	},
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
	/** The record's process, thread and kernel stack as a string of its bytes, for keys. */
	readonly where: string;
}

/** One block of one thread: switch-out to switch-in. */
export interface OffCpuRecord {
	/** When the thread was switched back in. */
	readonly ktimeNs: bigint;
	readonly blockedNs: number;
	readonly pid: number;
	readonly tid: number;
	readonly startNs: bigint;
	readonly execId: bigint;
	/** The task state it switched out in (1 interruptible, 2 uninterruptible, ...). */
	readonly state: number;
	/** Runnable, but taken off the CPU. */
	readonly preempted: boolean;
	/** Innermost first. */
	readonly kernelIps: BigUint64Array;
	/** Walked by frame pointers in the kernel; innermost first. */
	readonly userIps: BigUint64Array;
	/** User registers at switch-out; absent for kernel threads. */
	readonly regs?: UserRegs;
	/** The top of the user stack, from `regs.sp`. */
	readonly stack: Uint8Array;
	/**
	 * Where the thread blocked, as a string of the record's bytes: process,
	 * thread, state, registers and both stacks, not the stack copy's
	 * content. Blocks with equal `where` unwind alike and add up.
	 */
	readonly where: string;
}

/** Raw perf side-band records of one CPU, in that ring's order. */
export interface SidebandChunk {
	readonly cpu: number;
	readonly bytes: Uint8Array;
}

/** Counters the BPF programs keep, cumulative since load. */
export interface KernelCounters {
	readonly samples: number;
	readonly lostKernelStack: number;
	readonly lostEvents: number;
	/** The samples ring was full. */
	readonly lostSampleRing: number;
	/** User stack bytes copied by the kernel, over all samples. */
	readonly stackBytes: number;
	readonly offCpuBlocks: number;
	/** Blocks lost to a full off-CPU ring. */
	readonly lostOffCpu: number;
	/** Switch-outs not remembered: the per-thread map was full. */
	readonly offCpuDropped: number;
}

/** Everything one drain returned. */
export interface Drain {
	readonly drainKtimeNs: bigint;
	readonly counters: KernelCounters;
	readonly events: readonly KernelEvent[];
	readonly sideband: readonly SidebandChunk[];
	/** CPU samples, in the ring's order. */
	readonly samples: readonly SampleRecord[];
	/** Off-CPU blocks, in the ring's order (empty unless asked for). */
	readonly offCpu: readonly OffCpuRecord[];
	readonly cleanup: { readonly batchDeletes: number; readonly fallbackDeletes: number; readonly failures: number };
}

const EVENT_TYPES: Record<number, KernelEvent["type"]> = { 1: "exec", 2: "exit", 3: "fork" };
const text = new TextDecoder();

/**
 * `n` little-endian u64s at `offset`: a view when the offset is aligned,
 * as the addon's layout keeps it (no copy per sample), else a copy.
 */
function u64s(buffer: ArrayBuffer, offset: number, n: number): BigUint64Array {
	if (offset % 8 === 0) return new BigUint64Array(buffer, offset, n);
	const view = new DataView(buffer, offset, n * 8);
	const out = new BigUint64Array(n);
	for (let i = 0; i < n; i++) out[i] = view.getBigUint64(i * 8, true);
	return out;
}

/** A NUL-terminated C string inside a fixed-size field. */
export function cString(bytes: Uint8Array, offset: number, length: number): string {
	let end = offset;
	const limit = Math.min(offset + length, bytes.length);
	while (end < limit && bytes[end] !== 0) end++;
	return text.decode(bytes.subarray(offset, end));
}

/**
 * Decodes the first `length` bytes of a drain buffer; throws on bytes that
 * do not fit their own header. The result holds views of `buffer`: read
 * them before the buffer is handed back for the next drain.
 */
export function decodeDrain(buffer: ArrayBuffer, length = buffer.byteLength): Drain {
	const view = new DataView(buffer, 0, length);
	const bytes = new Uint8Array(buffer, 0, length);
	const H = LAYOUT.tsprof_drain_header;
	if (length < H.size) throw new Error(`drain buffer too short (${length} bytes)`);
	if (view.getUint32(H.magic, true) !== DRAIN_MAGIC || view.getUint32(H.version, true) !== DRAIN_VERSION) {
		throw new Error("drain buffer has the wrong magic or version: the addon and the TypeScript disagree");
	}
	const u64 = (o: number) => Number(view.getBigUint64(o, true));
	const K = LAYOUT.tsprof_kstats;
	const counters: KernelCounters = {
		samples: u64(H.kstats + K.samples),
		lostKernelStack: u64(H.kstats + K.lost_kstack),
		lostEvents: u64(H.kstats + K.lost_events),
		lostSampleRing: u64(H.kstats + K.lost_sample_ring),
		stackBytes: u64(H.kstats + K.stack_bytes),
		offCpuBlocks: u64(H.kstats + K.offcpu_blocks),
		lostOffCpu: u64(H.kstats + K.lost_offcpu),
		offCpuDropped: u64(H.kstats + K.offcpu_dropped),
	};
	const nEvents = view.getUint32(H.n_events, true);
	const nChunks = view.getUint32(H.n_sideband_chunks, true);
	const nSamples = view.getUint32(H.n_samples, true);
	const nOffCpu = view.getUint32(H.n_offcpu, true);
	let off = H.size;
	const need = (n: number) => {
		if (off + n > length) throw new Error("drain buffer is truncated");
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

	const raw = Buffer.from(buffer);
	const P = LAYOUT.tsprof_sample;
	const samples: SampleRecord[] = new Array(nSamples);
	for (let i = 0; i < nSamples; i++) {
		need(P.size);
		const flags = view.getUint32(off + P.flags, true);
		const stackBytes = view.getUint32(off + P.stack_bytes, true);
		const kstackNr = view.getUint32(off + P.kstack_nr, true);
		const body = off + P.size;
		const recordBytes = P.size + stackBytes + kstackNr * 8;
		need(recordBytes);
		const kernelIps = u64s(buffer, body + stackBytes, kstackNr);
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
			where: raw.toString("latin1", off + P.start_ns, off + P.ip) + raw.toString("latin1", body + stackBytes, off + recordBytes),
		};
		// Records are padded to 8 bytes, so the next header stays aligned.
		off += (recordBytes + 7) & ~7;
	}

	const O = LAYOUT.tsprof_offcpu;
	const offCpu: OffCpuRecord[] = new Array(nOffCpu);
	for (let i = 0; i < nOffCpu; i++) {
		need(O.data);
		const stackBytes = view.getUint32(off + O.stack_bytes, true);
		const knr = view.getUint32(off + O.kstack_nr, true);
		const unr = view.getUint32(off + O.ustack_nr, true);
		const recordBytes = O.data + stackBytes + (knr + unr) * 8;
		need(recordBytes);
		const data = off + O.data;
		const ip = view.getBigUint64(off + O.ip, true);
		offCpu[i] = {
			ktimeNs: view.getBigUint64(off + O.ktime_ns, true),
			blockedNs: u64(off + O.blocked_ns),
			pid: view.getUint32(off + O.pid, true),
			tid: view.getUint32(off + O.tid, true),
			startNs: view.getBigUint64(off + O.start_ns, true),
			execId: view.getBigUint64(off + O.exec_id, true),
			state: view.getUint32(off + O.state, true),
			preempted: view.getUint32(off + O.preempted, true) !== 0,
			kernelIps: u64s(buffer, data + stackBytes, knr),
			userIps: u64s(buffer, data + stackBytes + knr * 8, unr),
			where: raw.toString("latin1", off + O.start_ns, off + O.ustack_nr + 4) + raw.toString("latin1", off + O.ip, off + O.data) + raw.toString("latin1", data + stackBytes, off + recordBytes),
			...(ip !== 0n ? { regs: { ip, sp: view.getBigUint64(off + O.sp, true), bp: view.getBigUint64(off + O.bp, true) } } : {}),
			stack: bytes.subarray(data, data + stackBytes),
		};
		off += (recordBytes + 7) & ~7;
	}

	return {
		drainKtimeNs: view.getBigUint64(H.drain_ktime_ns, true),
		counters,
		events,
		sideband,
		samples,
		offCpu,
		cleanup: { batchDeletes: u64(H.batch_deletes), fallbackDeletes: u64(H.fallback_deletes), failures: u64(H.delete_failures) },
	};
}
