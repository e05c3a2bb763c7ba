/**
 * Which of the kernel features tsprof uses this kernel has, read from its
 * BTF (/sys/kernel/btf/vmlinux, readable without root): a kernel knows a
 * map type, program type or tracepoint when its BTF strings hold the name.
 * Loading a program would say more, but needs root; `--version` must not.
 */
import { readFileSync } from "node:fs";

/** A feature, and the BTF names that show the kernel has it (all of them). */
export interface FeatureProbe {
	readonly label: string;
	readonly names: readonly string[];
}

/** What the BPF program (bpf/tsprof.bpf.c) relies on; keep in step with its SEC()s and maps. */
export const tsprofFeatures: readonly FeatureProbe[] = [
	{ label: "ring buffer", names: ["BPF_MAP_TYPE_RINGBUF"] },
	{ label: "perf_event programs", names: ["BPF_PROG_TYPE_PERF_EVENT"] },
	{ label: "tp_btf programs", names: ["BPF_PROG_TYPE_TRACING", "BPF_TRACE_RAW_TP"] },
	{
		label: "sched tracepoints",
		names: ["btf_trace_sched_process_exec", "btf_trace_sched_process_fork", "btf_trace_sched_process_exit"],
	},
	// Attached only for --off-cpu.
	{ label: "sched_switch", names: ["btf_trace_sched_switch"] },
];

const BTF_MAGIC = 0xeb9f;

/**
 * The string section of a raw BTF blob (struct btf_header: magic u16,
 * version u8, flags u8, hdr_len u32, type_off u32, type_len u32, str_off
 * u32, str_len u32, in the machine's byte order), or undefined when the
 * blob is not BTF.
 */
export function btfStrings(btf: Buffer): Buffer | undefined {
	if (btf.length < 24) return undefined;
	const le = btf.readUInt16LE(0) === BTF_MAGIC;
	if (!le && btf.readUInt16BE(0) !== BTF_MAGIC) return undefined;
	const u32 = (at: number) => (le ? btf.readUInt32LE(at) : btf.readUInt32BE(at));
	const start = u32(4) + u32(16);
	const end = start + u32(20);
	if (end > btf.length) return undefined;
	return btf.subarray(start, end);
}

/** Whether each probe's names are all among the BTF strings (NUL-separated, starting with ""). */
export function probeFeatures(strings: Buffer, probes: readonly FeatureProbe[] = tsprofFeatures): Map<string, boolean> {
	const has = (name: string) => strings.includes(Buffer.from(`\0${name}\0`));
	return new Map(probes.map((p) => [p.label, p.names.every(has)]));
}

/** What the kernel offers, or why it could not be read. */
export type KernelFeatures =
	| { readonly btf: true; readonly features: ReadonlyMap<string, boolean> }
	| { readonly btf: false; readonly why: string };

/** Reads the kernel's BTF and probes tsprof's features in it. */
export function kernelFeatures(btfPath = process.env.TSPROF_BTF_PATH ?? "/sys/kernel/btf/vmlinux"): KernelFeatures {
	let blob: Buffer;
	try {
		blob = readFileSync(btfPath);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		return { btf: false, why: code === "ENOENT" ? `no ${btfPath}` : `cannot read ${btfPath} (${code})` };
	}
	const strings = btfStrings(blob);
	if (!strings) return { btf: false, why: `${btfPath} is not BTF` };
	return { btf: true, features: probeFeatures(strings) };
}
