/**
 * `tsprof --version`: one line for bug reports. The version, Node and the
 * kernel, the kernel features tsprof uses, which addon loads (and with
 * which libbpf), and whether this user can trace. Works without root:
 * only the last item needs it, and it says so.
 */
import { readFileSync, realpathSync } from "node:fs";
import { release } from "node:os";
import { basename } from "node:path";
import { locateAddon, openAddon } from "../kernel/addon.js";
import { type KernelFeatures, kernelFeatures } from "../kernel/features.js";
import { canTrace, effectiveCapabilities } from "../kernel/preflight.js";

/** Everything the version line reports. */
export interface VersionFacts {
	readonly version: string;
	readonly node: string;
	readonly kernelRelease: string;
	readonly arch: string;
	readonly kernel: KernelFeatures;
	/** The addon that loaded, or why none did. */
	readonly addon: { readonly kind: string; readonly libbpf?: string } | { readonly error: string };
	readonly canTrace: boolean;
	readonly root: boolean;
}

const yesNo = (b: boolean | undefined) => (b ? "yes" : "no");

/** The one line `--version` prints. */
export function versionLine(f: VersionFacts): string {
	const kernel = f.kernel.btf
		? `BTF yes, ${[...f.kernel.features].map(([label, ok]) => `${label} ${yesNo(ok)}`).join(", ")}`
		: `BTF no (${f.kernel.why})`;
	const addon =
		"error" in f.addon
			? `addon: ${f.addon.error}`
			: `addon ${f.addon.kind}${f.addon.libbpf ? `, libbpf ${f.addon.libbpf}` : ""}`;
	const privileges = f.canTrace ? `yes (${f.root ? "root" : "CAP_BPF, CAP_PERFMON"})` : "no (needs root)";
	return `tsprof ${f.version} (node ${f.node}, Linux ${f.kernelRelease} ${f.arch}): ${kernel}; ${addon}; can trace: ${privileges}`;
}

/**
 * The libbpf version from the file this process mapped for it: the
 * soname libbpf.so.1 links to libbpf.so.1.1.2, whose name holds it.
 */
export function libbpfVersion(maps: string, realpath: (path: string) => string = realpathSync): string | undefined {
	const path = /\s(\/\S*\/libbpf\.so[.\d]*)$/m.exec(maps)?.[1];
	if (!path) return undefined;
	try {
		return /^libbpf\.so\.(\d+(?:\.\d+)*)$/.exec(basename(realpath(path)))?.[1];
	} catch {
		return undefined;
	}
}

/** Gathers the facts from this machine and process. */
export function gatherVersionFacts(version: string): VersionFacts {
	let addon: VersionFacts["addon"];
	const location = locateAddon();
	try {
		openAddon(location);
		addon = {
			kind: `${location?.kind} ${process.platform}-${process.arch}`,
			libbpf: libbpfVersion(readFileSync("/proc/self/maps", "utf8")),
		};
	} catch (error) {
		addon = { error: (error as Error).message };
	}
	return {
		version,
		node: process.version,
		kernelRelease: release(),
		arch: process.arch,
		kernel: kernelFeatures(),
		addon,
		canTrace: canTrace(effectiveCapabilities()),
		root: process.getuid?.() === 0,
	};
}
