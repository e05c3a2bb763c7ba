/**
 * Gate for tests that need root and BPF: locally they skip with a reason,
 * under CI=true they fail, because CI must run the kernel path.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { canTrace, effectiveCapabilities } from "../../source/kernel/preflight.js";

export const projectRoot = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
export const addonPath = join(projectRoot, "native", "build", "Release", "tsprof.node");
/** The CLI as `tsprof` runs it: the bundle. */
export const cliPath = join(projectRoot, "dist", "bundle", "cli.js");

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelUnavailable(): string | undefined {
	if (!canTrace(effectiveCapabilities(readFileSync("/proc/self/status", "utf8")))) return "needs root (CAP_BPF and CAP_PERFMON)";
	if (!existsSync("/sys/kernel/btf/vmlinux")) return "the kernel has no BTF";
	if (!existsSync(addonPath)) return "the addon is not built (npm install)";
	if (!existsSync(cliPath)) return "the CLI is not built (npm install)";
	return undefined;
}

/** `skip` option for node:test: a reason locally, a failure under CI. */
export function requireKernel(): string | false {
	const why = kernelUnavailable();
	if (!why) return false;
	if (process.env.CI === "true") throw new Error(`kernel tests cannot run under CI: ${why}`);
	return why;
}
