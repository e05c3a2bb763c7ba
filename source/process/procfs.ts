/**
 * What /proc says about live processes: the seed for processes that existed
 * before the probes were armed, and a fallback for any we missed.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { type Image, parseProcMaps } from "./image.js";

/** A live process as /proc shows it. */
export interface ProcSnapshot {
	readonly pid: number;
	readonly ppid: number;
	readonly comm: string;
	/** Empty for kernel threads and when unreadable. */
	readonly exe: string;
	readonly image: Image;
}

/** Reads processes from /proc; an interface so the table is testable without it. */
export interface ProcReader {
	listPids(): number[];
	/** undefined when the process is gone (or was never there). */
	read(pid: number): ProcSnapshot | undefined;
	exists(pid: number): boolean;
}

/** The real /proc under `root`. */
export class ProcFs implements ProcReader {
	constructor(private readonly root = "/proc") {}

	listPids(): number[] {
		const pids: number[] = [];
		for (const name of readdirSync(this.root)) {
			if (/^\d+$/.test(name)) pids.push(Number(name));
		}
		return pids;
	}

	exists(pid: number): boolean {
		try {
			readFileSync(`${this.root}/${pid}/stat`);
			return true;
		} catch {
			return false;
		}
	}

	read(pid: number): ProcSnapshot | undefined {
		let stat: string;
		try {
			stat = readFileSync(`${this.root}/${pid}/stat`, "utf8");
		} catch {
			return undefined;
		}
		// comm may hold spaces and parentheses: it ends at the last ')'.
		const close = stat.lastIndexOf(")");
		const comm = stat.slice(stat.indexOf("(") + 1, close);
		const ppid = Number(stat.slice(close + 2).split(" ")[1]) || 0;
		let exe = "";
		try {
			exe = readlinkSync(`${this.root}/${pid}/exe`);
		} catch {
			// kernel thread, or gone
		}
		let maps = "";
		try {
			maps = readFileSync(`${this.root}/${pid}/maps`, "utf8");
		} catch {
			// gone, or a kernel thread
		}
		const image = parseProcMaps(maps);
		image.exe = exe;
		image.comm = comm;
		return { pid, ppid, comm, exe, image };
	}
}
