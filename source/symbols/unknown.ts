/**
 * Why a frame could not be named: a short, fixed vocabulary, so that a user
 * (and `top`'s help) can tell a missing debug package from JIT code without
 * a perf map or a lost mapping. Each reason text starts with the words of its
 * kind; the text is also what follows the address in the frame's name, so a
 * recording carries the reason without a field of its own.
 */

/** The kinds of reasons, by what the user can do about them. */
export type UnknownKind =
	/** The file has symbol tables, but none covers the address. */
	| "no-symbols"
	/** The file keeps no full symbol table and no debug file was found. */
	| "stripped"
	/** Anonymous executable memory (JIT code) with no usable perf map entry. */
	| "jit"
	/** The address lies in no mapping tsprof knows of. */
	| "no-mapping"
	/** The mapped file could not be read. */
	| "unreadable"
	/** The stack walk stopped early. */
	| "truncated";

const PREFIXES: readonly (readonly [string, UnknownKind])[] = [
	["no symbols", "no-symbols"],
	["stripped", "stripped"],
	["JIT code", "jit"],
	["no mapping", "no-mapping"],
	["file unreadable", "unreadable"],
	["stack truncated", "truncated"],
];

/** Reason texts, one builder per kind. */
export const Reason = {
	noSymbols: (where?: string) => (where ? `no symbols ${where}` : "no symbols"),
	stripped: () => "stripped, no debug file",
	jitNode: () => "JIT code: start node with --perf-basic-prof or under tsprof --",
	jitNoMap: (path: string) => `JIT code: no perf map ${path}`,
	jitRefused: (why: string) => `JIT code: perf map refused: ${why}`,
	jitNotInMap: () => "JIT code: not in the perf map",
	noMapping: (why: string) => `no mapping known: ${why}`,
	unreadable: (why: string) => `file unreadable: ${why}`,
	truncated: (why: string) => `stack truncated: ${why}`,
} as const;

/** The kind of a reason text; undefined for texts from outside this vocabulary. */
export function unknownKind(reason: string): UnknownKind | undefined {
	for (const [prefix, kind] of PREFIXES) if (reason.startsWith(prefix)) return kind;
	return undefined;
}

const hex = (n: bigint) => `0x${n.toString(16)}`;

/** The name of a frame that could not be named: `[unknown] 0xADDR (reason)`. */
export function unknownName(ip: bigint | undefined, reason: string): string {
	return ip === undefined ? `[unknown] (${reason})` : `[unknown] ${hex(ip)} (${reason})`;
}

const UNKNOWN_NAME = /^\[unknown\](?: 0x[0-9a-f]+)? \((.*)\)$/s;

/** The reason in an unknown frame's name, as written by {@link unknownName}; undefined otherwise. */
export function reasonOfName(name: string): string | undefined {
	if (!name.startsWith("[unknown]")) return undefined;
	return UNKNOWN_NAME.exec(name)?.[1];
}

/** One line per kind, for help texts. */
export const UNKNOWN_HELP: readonly (readonly [UnknownKind, string])[] = [
	["no-symbols", "no symbols: the file has symbols, but none covers the address"],
	["stripped", "stripped, no debug file: install the package's debug symbols (-dbg, -dbgsym)"],
	["jit", "JIT code: start the runtime with its perf map on (node --perf-basic-prof, python -X perf), or under tsprof --"],
	["no-mapping", "no mapping known: the process's mappings were not captured (it started or exited out of view, or records were lost)"],
	["unreadable", "file unreadable: the mapped file is gone or is not the one the process mapped"],
	["truncated", "stack truncated: the walk stopped early (depth limit, or a frame without a frame pointer)"],
];
