/**
 * Checks that tell the user, in one line, why sampling cannot start, before
 * the kernel answers with a bare errno.
 */
import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../errors.js";

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCapabilities(status = readFileSync("/proc/self/status", "utf8")): bigint {
	const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
	return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** Whether these capabilities can load tracing BPF programs and open perf events system-wide. */
export function canTrace(caps: bigint): boolean {
	const has = (bit: bigint) => (caps >> bit) & 1n;
	return has(CAP_SYS_ADMIN) === 1n || (has(CAP_BPF) === 1n && has(CAP_PERFMON) === 1n);
}

/** Throws a UserError when this process cannot sample. */
export function preflight(btfPath = process.env.TSPROF_BTF_PATH ?? "/sys/kernel/btf/vmlinux"): void {
	if (!canTrace(effectiveCapabilities())) {
		throw new UserError("tsprof needs root, or the capabilities CAP_BPF and CAP_PERFMON (try: sudo tsprof ...)");
	}
	if (!existsSync(btfPath)) {
		throw new UserError(
			`this kernel has no BTF (${btfPath} is missing): tsprof needs Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF`,
		);
	}
}
