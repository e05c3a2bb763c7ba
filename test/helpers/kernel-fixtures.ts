/**
 * For the kernel integration tests: compiles the C fixtures of
 * test/fixtures at test time, and starts, watches and ends the processes
 * they run. Every process and temp dir made here is tracked by a Scratch,
 * whose cleanup() kills and removes all of it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "./root.js";

export const fixturesDir = join(projectRoot, "test", "fixtures");

/**
 * Frame pointers everywhere and nothing inlined, so frame-pointer unwinding
 * sees every function the fixture names (gcc omits the frame of a
 * leaf that needs no stack, so the fixtures give leaves a volatile local).
 */
export const FIXTURE_CFLAGS = [
	"-O1",
	"-g",
	"-fno-omit-frame-pointer",
	"-fno-inline",
	"-Wall",
];

/** A started fixture process. */
export interface Started {
	readonly child: ChildProcess;
	readonly pid: number;
	/** Lines the process printed on stdout so far. */
	readonly lines: string[];
	/** Resolves with the exit code (or the signal) once the process ended. */
	readonly exited: Promise<{
		code: number | null;
		signal: NodeJS.Signals | null;
	}>;
}

/** Temp files and processes of one test file; cleanup() ends and removes them all. */
export class Scratch {
	/** A fresh directory (its real path, so paths compare with what the kernel reports). */
	readonly dir: string;
	private readonly children = new Set<ChildProcess>();

	constructor(prefix = "tsprof-kt-") {
		this.dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
	}

	/** Compiles test/fixtures/NAME.c to DIR/NAME (or DIR/OUT) and returns its path. */
	compile(name: string, out = name): string {
		const exe = join(this.dir, out);
		execFileSync(
			"gcc",
			[...FIXTURE_CFLAGS, "-o", exe, join(fixturesDir, `${name}.c`)],
			{ stdio: ["ignore", "ignore", "pipe"] },
		);
		return exe;
	}

	/** Another fresh directory, removed by cleanup(). */
	mkdir(prefix = "sub-"): string {
		return realpathSync(mkdtempSync(join(this.dir, prefix)));
	}

	/**
	 * Starts `file args`; its pid is the child's own pid. stdin is a pipe
	 * (write to child.stdin), stdout is collected by line.
	 */
	start(
		file: string,
		args: readonly string[] = [],
		options: { env?: NodeJS.ProcessEnv } = {},
	): Started {
		const child = spawn(file, args, {
			stdio: ["pipe", "pipe", "pipe"],
			env: options.env ?? process.env,
		});
		if (child.pid === undefined) throw new Error(`cannot start ${file}`);
		this.children.add(child);
		const lines: string[] = [];
		let partial = "";
		child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
			const parts = (partial + chunk).split("\n");
			partial = parts.pop() ?? "";
			lines.push(...parts);
		});
		child.stderr?.resume();
		const exited = new Promise<{
			code: number | null;
			signal: NodeJS.Signals | null;
		}>((resolve) => {
			child.once("close", (code, signal) => {
				if (partial) lines.push(partial);
				this.children.delete(child);
				resolve({ code, signal });
			});
		});
		return { child, pid: child.pid, lines, exited };
	}

	/** Ends every process still running and removes every temp dir. */
	async cleanup(): Promise<void> {
		const waits: Promise<unknown>[] = [];
		for (const child of this.children) {
			if (child.exitCode === null && child.signalCode === null) {
				waits.push(new Promise((resolve) => child.once("close", resolve)));
				child.kill("SIGKILL");
			}
		}
		await Promise.race([Promise.all(waits), sleep(5000)]);
		rmSync(this.dir, { recursive: true, force: true });
	}
}

export const sleep = (ms: number) =>
	new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
	what: string,
	check: () => T | undefined | false,
	timeoutMs = 10_000,
	everyMs = 20,
): Promise<T> {
	const end = Date.now() + timeoutMs;
	for (;;) {
		const v = check();
		if (v !== undefined && v !== false) return v;
		if (Date.now() > end)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await sleep(everyMs);
	}
}

/** Waits until a started process has printed at least `n` lines. */
export function waitForLines(
	p: Started,
	n: number,
	timeoutMs = 10_000,
): Promise<string[]> {
	return waitFor(
		`${n} lines from pid ${p.pid}`,
		() => (p.lines.length >= n ? p.lines : undefined),
		timeoutMs,
	);
}
