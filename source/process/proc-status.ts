/**
 * Who a live process is, from /proc/PID/status: its user ids (to check who
 * may have written files in its name) and its pid in its own pid namespace
 * (the name a containerized runtime gives its perf map).
 */
import { readFileSync, readlinkSync } from "node:fs";

/** A process's ids as /proc shows them. */
export interface ProcIds {
	/** Real, effective, saved and filesystem uids. */
	readonly uids: readonly number[];
	/** The pid in the innermost pid namespace (the last NSpid field). */
	readonly nsPid: number;
	/** Whether the process shares tsprof's mount namespace (its /tmp is ours). */
	readonly sameMountNs: boolean;
}

/** Parses the `Uid:` and `NSpid:` lines of status text; undefined without a Uid line. */
export function parseStatusIds(text: string, pid: number): { uids: number[]; nsPid: number } | undefined {
	let uids: number[] | undefined;
	let nsPid = pid;
	for (const line of text.split("\n")) {
		if (line.startsWith("Uid:")) uids = line.slice(4).trim().split(/\s+/).map(Number).filter(Number.isInteger);
		else if (line.startsWith("NSpid:")) {
			const last = Number(line.slice(6).trim().split(/\s+/).at(-1));
			if (Number.isInteger(last) && last > 0) nsPid = last;
		}
	}
	return uids && uids.length > 0 ? { uids, nsPid } : undefined;
}

/** Reads `pid`'s ids under `procRoot`; undefined when the process is gone. */
export function readProcIds(pid: number, procRoot = "/proc"): ProcIds | undefined {
	let text: string;
	try {
		text = readFileSync(`${procRoot}/${pid}/status`, "utf8");
	} catch {
		return undefined;
	}
	const ids = parseStatusIds(text, pid);
	if (!ids) return undefined;
	return { ...ids, sameMountNs: sameMountNs(pid, procRoot) };
}

function sameMountNs(pid: number, procRoot: string): boolean {
	let own: string;
	try {
		own = readlinkSync(`${procRoot}/self/ns/mnt`);
	} catch {
		// No namespace links (a test's fake /proc): one namespace.
		return true;
	}
	try {
		return readlinkSync(`${procRoot}/${pid}/ns/mnt`) === own;
	} catch {
		// A zombie has no namespaces left: not provably ours.
		return false;
	}
}
