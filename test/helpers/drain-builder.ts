/**
 * Builds drain buffers the way the addon lays them out (bpf/tsprof.h, at the
 * offsets of source/kernel/abi.ts, which the ABI test holds to the addon),
 * and perf side-band records the way the kernel writes them: a fake kernel
 * for the layers above it.
 */
import { DRAIN_MAGIC, DRAIN_VERSION, LAYOUT } from "../../source/kernel/abi.js";
import type { Kernel, KernelSession } from "../../source/kernel/kernel.js";
import type { UserUnwinder } from "../../source/sampler/user-stack.js";

export interface FakeEvent {
	type: "exec" | "exit" | "fork";
	ktimeNs: bigint;
	pid: number;
	tid?: number;
	ppid?: number;
	startNs: bigint;
	execId: bigint;
	comm: string;
	filename?: string;
}
/**
 * A CPU sample for the fake kernel: sent as `count` identical records. The
 * user stack is laid out for {@link listUnwinder}: regs.ip is ustack[0], the
 * copy holds the rest as u64s, ended by a zero.
 */
export interface FakeSample {
	pid: number;
	tid?: number;
	startNs: bigint;
	execId: bigint;
	ustack?: bigint[];
	kstack?: bigint[];
	count?: number;
	ktimeNs?: bigint;
}

/** Unwinds the fake kernel's stacks: they list their return addresses. */
export const listUnwinder: UserUnwinder = {
	unwind(_pid, _image, regs, stack) {
		const view = new DataView(stack.buffer, stack.byteOffset, stack.byteLength);
		const pcs = [regs.ip];
		for (let off = 0; off + 8 <= stack.byteLength; off += 8) {
			const pc = view.getBigUint64(off, true);
			if (pc === 0n) break;
			pcs.push(pc);
		}
		return { pcs };
	},
};

const TYPE = { exec: 1, exit: 2, fork: 3 } as const;

function cstr(view: DataView, off: number, s: string, len: number) {
	const b = Buffer.from(s);
	for (let i = 0; i < Math.min(b.length, len - 1); i++) view.setUint8(off + i, b[i]);
}

/** A side-band MMAP2 record (with the sample_id trailer). */
export function mmap2Record(pid: number, timeNs: bigint, start: bigint, len: bigint, pgoff: bigint, filename: string): Buffer {
	const name = Buffer.from(`${filename}\0`);
	const nameLen = Math.ceil(name.length / 8) * 8;
	const size = 8 + 64 + nameLen + 16;
	const b = Buffer.alloc(size);
	b.writeUInt32LE(10, 0);
	b.writeUInt16LE(0, 4);
	b.writeUInt16LE(size, 6);
	b.writeUInt32LE(pid, 8);
	b.writeUInt32LE(pid, 12);
	b.writeBigUInt64LE(start, 16);
	b.writeBigUInt64LE(len, 24);
	b.writeBigUInt64LE(pgoff, 32);
	b.writeUInt32LE(5, 8 + 56); // PROT_READ|PROT_EXEC
	name.copy(b, 8 + 64);
	b.writeUInt32LE(pid, size - 16);
	b.writeUInt32LE(pid, size - 12);
	b.writeBigUInt64LE(timeNs, size - 8);
	return b;
}

/** A side-band COMM record; `exec` marks the comm change of an exec. */
export function commRecord(pid: number, timeNs: bigint, comm: string, exec: boolean): Buffer {
	const name = Buffer.from(`${comm}\0`);
	const nameLen = Math.ceil(name.length / 8) * 8;
	const size = 8 + 8 + nameLen + 16;
	const b = Buffer.alloc(size);
	b.writeUInt32LE(3, 0);
	b.writeUInt16LE(exec ? 1 << 13 : 0, 4);
	b.writeUInt16LE(size, 6);
	b.writeUInt32LE(pid, 8);
	b.writeUInt32LE(pid, 12);
	name.copy(b, 16);
	b.writeUInt32LE(pid, size - 16);
	b.writeUInt32LE(pid, size - 12);
	b.writeBigUInt64LE(timeNs, size - 8);
	return b;
}

/** A side-band FORK record. */
export function forkRecord(pid: number, ppid: number, timeNs: bigint): Buffer {
	const b = Buffer.alloc(8 + 24 + 16);
	b.writeUInt32LE(7, 0);
	b.writeUInt16LE(b.length, 6);
	b.writeUInt32LE(pid, 8);
	b.writeUInt32LE(ppid, 12);
	b.writeUInt32LE(pid, 16);
	b.writeUInt32LE(ppid, 20);
	b.writeBigUInt64LE(timeNs, 24);
	return b;
}

export interface FakeDrain {
	drainKtimeNs: bigint;
	events?: FakeEvent[];
	samples?: FakeSample[];
	offCpu?: FakeOffCpu[];
	/** Side-band bytes per CPU. */
	sideband?: Buffer[];
	lostKernelStack?: number;
}

/** An off-CPU block for the fake kernel. */
export interface FakeOffCpu {
	pid: number;
	tid?: number;
	startNs: bigint;
	execId: bigint;
	blockedNs: number;
	preempted?: boolean;
	state?: number;
	kstack?: bigint[];
	ustack?: bigint[];
	ktimeNs?: bigint;
}

/** Encodes one drain as the addon would. */
export function buildDrain(d: FakeDrain): ArrayBuffer {
	const H = LAYOUT.tsprof_drain_header;
	const E = LAYOUT.tsprof_event;
	const events = d.events ?? [];
	const sb = d.sideband ?? [];
	const sbBytes = sb.reduce((n, c) => n + 8 + c.length, 0);
	const P = LAYOUT.tsprof_sample;
	const records = (d.samples ?? []).flatMap((x) => Array.from({ length: x.count ?? 1 }, () => x));
	const recordBytes = (x: FakeSample) => P.size + (x.ustack ? 8 * x.ustack.length : 0) + 8 * (x.kstack?.length ?? 0);
	const samplesBytes = records.reduce((n, x) => n + recordBytes(x), 0);
	const O = LAYOUT.tsprof_offcpu;
	const blocks = d.offCpu ?? [];
	const blockBytes = (x: FakeOffCpu) => O.data + 8 * ((x.kstack?.length ?? 0) + (x.ustack?.length ?? 0));
	const offCpuBytes = blocks.reduce((n, x) => n + blockBytes(x), 0);
	const size = H.size + events.length * E.size + sbBytes + samplesBytes + offCpuBytes;
	const buf = new ArrayBuffer(size);
	const v = new DataView(buf);
	v.setUint32(H.magic, DRAIN_MAGIC, true);
	v.setUint32(H.version, DRAIN_VERSION, true);
	v.setBigUint64(H.drain_ktime_ns, d.drainKtimeNs, true);
	v.setBigUint64(H.kstats + LAYOUT.tsprof_kstats.lost_kstack, BigInt(d.lostKernelStack ?? 0), true);
	v.setUint32(H.n_events, events.length, true);
	v.setUint32(H.n_offcpu, blocks.length, true);
	v.setUint32(H.n_sideband_chunks, sb.length, true);
	v.setUint32(H.n_samples, records.length, true);
	let off: number = H.size;
	for (const e of events) {
		v.setBigUint64(off + E.ktime_ns, e.ktimeNs, true);
		v.setBigUint64(off + E.start_ns, e.startNs, true);
		v.setBigUint64(off + E.exec_id, e.execId, true);
		v.setUint32(off + E.type, TYPE[e.type], true);
		v.setUint32(off + E.pid, e.pid, true);
		v.setUint32(off + E.tid, e.tid ?? e.pid, true);
		v.setUint32(off + E.ppid, e.ppid ?? 1, true);
		cstr(v, off + E.comm, e.comm, 16);
		cstr(v, off + E.filename, e.filename ?? "", 256);
		off += E.size;
	}
	sb.forEach((chunk, cpu) => {
		v.setUint32(off, cpu, true);
		v.setUint32(off + 4, chunk.length, true);
		new Uint8Array(buf, off + 8, chunk.length).set(chunk);
		off += 8 + chunk.length;
	});
	for (const x of records) {
		v.setBigUint64(off + P.ktime_ns, x.ktimeNs ?? 1n, true);
		v.setBigUint64(off + P.start_ns, x.startNs, true);
		v.setBigUint64(off + P.exec_id, x.execId, true);
		v.setUint32(off + P.pid, x.pid, true);
		v.setUint32(off + P.tid, x.tid ?? x.pid, true);
		const stack = x.ustack ? [...x.ustack.slice(1), 0n] : [];
		if (x.ustack) {
			v.setBigUint64(off + P.ip, x.ustack[0] ?? 0n, true);
			v.setBigUint64(off + P.sp, 0x7ffc0000n, true);
			v.setUint32(off + P.flags, 1, true);
		}
		v.setUint32(off + P.stack_bytes, stack.length * 8, true);
		v.setUint32(off + P.kstack_nr, x.kstack?.length ?? 0, true);
		let o = off + P.size;
		for (const w of [...stack, ...(x.kstack ?? [])]) {
			v.setBigUint64(o, w, true);
			o += 8;
		}
		off = o;
	}
	for (const x of blocks) {
		v.setBigUint64(off + O.ktime_ns, x.ktimeNs ?? 1n, true);
		v.setBigUint64(off + O.blocked_ns, BigInt(x.blockedNs), true);
		v.setBigUint64(off + O.start_ns, x.startNs, true);
		v.setBigUint64(off + O.exec_id, x.execId, true);
		v.setUint32(off + O.pid, x.pid, true);
		v.setUint32(off + O.tid, x.tid ?? x.pid, true);
		v.setUint32(off + O.state, x.state ?? 1, true);
		v.setUint32(off + O.preempted, x.preempted ? 1 : 0, true);
		v.setUint32(off + O.kstack_nr, x.kstack?.length ?? 0, true);
		v.setUint32(off + O.ustack_nr, x.ustack?.length ?? 0, true);
		let o = off + O.data;
		for (const w of [...(x.kstack ?? []), ...(x.ustack ?? [])]) {
			v.setBigUint64(o, w, true);
			o += 8;
		}
		off = o;
	}
	return buf;
}

/** A kernel whose drains return the given buffers in turn, then empty ones. */
export function fakeKernel(drains: ArrayBuffer[]): Kernel & { armed: boolean; closed: boolean } {
	const state = { armed: false, closed: false };
	const session: KernelSession = {
		open: async () => {},
		arm: () => {
			state.armed = true;
		},
		drain: async () => {
			const buffer = drains.shift() ?? buildDrain({ drainKtimeNs: 0n });
			return { buffer, length: buffer.byteLength };
		},
		close: async () => {
			state.closed = true;
		},
		programIds: () => [],
		mapIds: () => [],
	};
	return Object.assign(state, {
		createSession: () => session,
		layout: () => LAYOUT as unknown as Record<string, Record<string, number>>,
		demangle: (names: readonly string[]) => names.map((n) => (n === "_Z6middlev" ? "middle()" : null)),
	});
}
