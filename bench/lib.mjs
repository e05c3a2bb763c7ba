// What every figure script shares: quick mode, temporary files, children and
// tmux sessions that are cleaned up however the script ends, CPU ticks and
// memory of a process tree, the programs a process holds, and the one JSON
// line each script ends with.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export { median, mib } from "./stats.mjs";

/** The repository this bench belongs to. */
export const root = fileURLToPath(new URL("..", import.meta.url));
/**
 * The CLI as installed (`npm install` builds it). Run it as the executable
 * it is, never as `node cli.js`: its shebang carries the V8 flags that
 * users get (ARCHITECTURE.md, Cost).
 */
export const cli = join(root, "dist/bundle/cli.js");

/**
 * BENCH_QUICK=1 shrinks every duration and run count, to check that a
 * script runs and parses what it measures; its figures mean nothing.
 */
export const QUICK = process.env.BENCH_QUICK === "1";
/** `full` normally, `quick` under BENCH_QUICK=1. */
export const pick = (full, quick) => (QUICK ? quick : full);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- cleanup, whatever way the script ends -------------------------------

const undo = [];
/** Runs `fn` (synchronously) when the script exits, last registered first. */
export function atExit(fn) {
	undo.push(fn);
}
let cleaned = false;
function cleanup() {
	if (cleaned) return;
	cleaned = true;
	while (undo.length > 0) {
		try {
			undo.pop()();
		} catch {
			// Keep undoing the rest.
		}
	}
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
	process.on(signal, () => {
		cleanup();
		process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
	});
}

/** A temporary directory, removed at exit. */
export function tempDir(prefix = "tsprof-bench-") {
	const dir = mkdtempSync(join(tmpdir(), prefix));
	atExit(() => rmSync(dir, { recursive: true, force: true }));
	return dir;
}

const live = new Set();
atExit(() => {
	for (const child of live) killTree(child.pid, "SIGKILL");
});

/**
 * @typedef {{ code: number | null, signal: string | null, stdout: string, stderr: string }} Done
 * @typedef {import("node:child_process").ChildProcess & { done: Promise<Done> }} Started
 */

/**
 * Starts `cmd` in its own process group, killed at exit if still running.
 * `child.done` resolves to { code, signal, stdout, stderr } (captured when
 * `capture` is set, else inherited or ignored per `stdio`).
 * @param {string} cmd
 * @param {readonly string[]} [args]
 * @param {{ capture?: boolean, stdio?: import("node:child_process").StdioOptions, env?: Record<string, string>, cwd?: string }} [options]
 * @returns {Started}
 */
export function start(cmd, args = [], { capture = false, stdio = undefined, env = undefined, cwd = undefined } = {}) {
	const child = /** @type {Started} */ (spawn(cmd, args, {
		detached: true,
		stdio: stdio ?? (capture ? ["ignore", "pipe", "pipe"] : ["ignore", "ignore", "ignore"]),
		env: env ? { ...process.env, ...env } : process.env,
		cwd,
	}));
	live.add(child);
	let stdout = "";
	let stderr = "";
	child.stdout?.on("data", (d) => {
		stdout += d;
	});
	child.stderr?.on("data", (d) => {
		stderr += d;
	});
	child.done = new Promise((resolve) => {
		child.on("close", (code, signal) => {
			live.delete(child);
			resolve({ code, signal, stdout, stderr });
		});
		child.on("error", (error) => {
			live.delete(child);
			resolve({ code: -1, signal: null, stdout, stderr: `${stderr}${error.message}` });
		});
	});
	return child;
}

/**
 * Runs `cmd` to its end under a watchdog: killed when it runs past
 * `deadlineS` or its tree holds more than `maxRssBytes`, so that a profiler
 * that falls behind on a busy machine cannot take the machine with it.
 * Resolves to { code, stdout, stderr, killedFor } (killedFor: a reason, or undefined).
 */
/**
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {{ deadlineS?: number, maxRssBytes?: number }} [options]
 */
export async function runWatched(cmd, args, { deadlineS = undefined, maxRssBytes = 2 ** 31 } = {}) {
	const child = start(cmd, args, { capture: true });
	let killedFor;
	const t0 = performance.now();
	const watch = setInterval(() => {
		const rss = treeRssBytes(child.pid);
		if (rss > maxRssBytes) killedFor = `killed at ${Math.round(rss / 2 ** 20)} MB resident`;
		else if (deadlineS !== undefined && performance.now() - t0 > deadlineS * 1000) killedFor = `killed after ${deadlineS} s`;
		if (killedFor) killTree(child.pid, "SIGKILL");
	}, 500);
	const result = await child.done;
	clearInterval(watch);
	return { ...result, killedFor };
}

/** Signals `pid`'s process group (see start) and, failing that, the process. */
export function killTree(pid, signal = "SIGTERM") {
	try {
		process.kill(-pid, signal);
	} catch {
		try {
			process.kill(pid, signal);
		} catch {
			// Already gone.
		}
	}
}

/** Signals `child` and waits for it, killing it after `graceMs`. */
export async function stop(child, signal = "SIGINT", graceMs = 30_000) {
	if (child.exitCode === null && child.signalCode === null) killTree(child.pid, signal);
	const timer = setTimeout(() => killTree(child.pid, "SIGKILL"), graceMs);
	const result = await child.done;
	clearTimeout(timer);
	return result;
}

/**
 * Runs `cmd` to its end and returns its output and the CPU time (user +
 * system, seconds) of it and every descendant it waited for: a shell that
 * waits for the command reads its own cutime/cstime from /proc afterwards.
 * @param {string} cmd
 * @param {readonly string[]} [args]
 * @param {{ env?: Record<string, string>, cwd?: string }} [options]
 * @returns {Promise<{ code: number, stdout: string, stderr: string, cpuS: number, wallS: number }> & { child: Started }}
 */
export function timed(cmd, args = [], options = {}) {
	const script = '"$@"; rc=$?; read -r -a s </proc/$$/stat; echo "TIMED $rc ${s[15]} ${s[16]}" >&2';
	const t0 = performance.now();
	const child = start("bash", ["-c", script, "timed", cmd, ...args], { ...options, capture: true });
	const result = /** @type {Promise<{ code: number, stdout: string, stderr: string, cpuS: number, wallS: number }> & { child: Started }} */ (child.done.then(({ stdout, stderr }) => {
		const wallS = (performance.now() - t0) / 1000;
		const at = stderr.lastIndexOf("TIMED ");
		if (at < 0) return { code: -1, stdout, stderr, cpuS: Number.NaN, wallS };
		const [code, cutime, cstime] = stderr.slice(at + 6).trim().split(" ").map(Number);
		return { code, stdout, stderr: stderr.slice(0, at), cpuS: (cutime + cstime) / clockTicks(), wallS };
	}));
	// The shell, whose tree holds the command while it runs (see armed).
	result.child = child;
	return result;
}

// ---- /proc ----------------------------------------------------------------

let tck;
/** Clock ticks per second (USER_HZ). */
export function clockTicks() {
	tck ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
	return tck;
}

/** `pid` and all its descendants, now. */
export function processTree(pid) {
	const children = new Map();
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		const ppid = statFields(Number(entry))?.[1];
		if (ppid === undefined) continue;
		if (!children.has(ppid)) children.set(ppid, []);
		children.get(ppid).push(Number(entry));
	}
	const all = [pid];
	for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]) ?? []));
	return all;
}

/** Fields of /proc/PID/stat after the command name (state is [0], ppid [1]). */
/** @returns {number[] | undefined} the fields after the command name, the state as NaN */
function statFields(pid) {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, "utf8");
		return text
			.slice(text.lastIndexOf(")") + 2)
			.split(" ")
			.map((f, i) => (i === 0 ? Number.NaN : Number(f)));
	} catch {
		return undefined;
	}
}

/**
 * A counter of the CPU time, in seconds, used so far by `pid` and its
 * descendants (all threads): each call reads the tree again. A process that
 * is gone keeps the time it was last seen with. Children's times (cutime)
 * are not used: perf top's helpers are reaped without a wait, so their time
 * never reaches cutime, and summing live children's own times with cutime
 * made a tree's CPU fall (-12% of a core once) when one of them exited.
 * @returns {() => number}
 */
export function treeCpuCounter(pid) {
	/** @type {Map<string, number>} ticks by pid and start time */
	const seen = new Map();
	return () => {
		for (const p of processTree(pid)) {
			const f = statFields(p);
			// utime, stime: fields 14 and 15 of the line; starttime: 22.
			if (f) seen.set(`${p}:${f[19]}`, f[11] + f[12]);
		}
		let ticks = 0;
		for (const t of seen.values()) ticks += t;
		return ticks / clockTicks();
	};
}

/** Resident memory, in bytes, of `pid` and its live descendants. */
export function treeRssBytes(pid) {
	let kb = 0;
	for (const p of processTree(pid)) {
		try {
			const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
			if (m) kb += Number(m[1]);
		} catch {
			// Exited meanwhile.
		}
	}
	return kb * 1024;
}

/**
 * The BPF programs that `pid`'s tree holds open, with their cost so far
 * (kernel.bpf_stats_enabled must be on): { id, type, name, runTimeNs, runCnt }.
 */
export function bpfPrograms(pid) {
	const found = new Map();
	for (const p of processTree(pid)) {
		let fds;
		try {
			fds = readdirSync(`/proc/${p}/fdinfo`);
		} catch {
			continue;
		}
		for (const fd of fds) {
			let text;
			try {
				text = readFileSync(`/proc/${p}/fdinfo/${fd}`, "utf8");
			} catch {
				continue;
			}
			const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
			const id = field("prog_id");
			// Link fds name their program too, without its figures.
			if (Number.isNaN(id) || Number.isNaN(field("run_cnt"))) continue;
			found.set(id, { id, type: field("prog_type"), runTimeNs: field("run_time_ns"), runCnt: field("run_cnt") });
		}
	}
	if (found.size === 0) return [];
	const names = new Map();
	try {
		for (const prog of JSON.parse(execFileSync("bpftool", ["prog", "show", "-j"], { encoding: "utf8", maxBuffer: 64 << 20 })))
			names.set(prog.id, prog.name);
	} catch {
		// Names are a nicety; the type tells perf_event programs apart.
	}
	return [...found.values()].map((p) => ({ ...p, name: names.get(p.id) ?? "" }));
}

/** BPF prog type of perf_event programs (BPF_PROG_TYPE_PERF_EVENT). */
export const PROG_PERF_EVENT = 7;

/**
 * Waits until a perf_event program of `child`'s tree has run (the profiler
 * samples), or `timeoutMs`; returns that program, or undefined. Run counts
 * exist only with bpf_stats on: without them every wait ran to its timeout,
 * which was 40 s of each storm run.
 */
export async function armed(child, timeoutMs = 20_000, which = (p) => p.type === PROG_PERF_EVENT) {
	if (!statsOn) enableBpfStats();
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const prog = bpfPrograms(child.pid).find(which);
		if (prog && prog.runCnt > 0) return prog;
		if (child.exitCode !== null || child.signalCode !== null) return undefined;
		await sleep(200);
	}
	return undefined;
}

let statsOn = false;

/** Turns kernel.bpf_stats_enabled on, and back to what it was at exit. */
export function enableBpfStats() {
	statsOn = true;
	const path = "/proc/sys/kernel/bpf_stats_enabled";
	const before = readFileSync(path, "utf8").trim();
	execFileSync("sysctl", ["-qw", "kernel.bpf_stats_enabled=1"]);
	atExit(() => execFileSync("sysctl", ["-qw", `kernel.bpf_stats_enabled=${before}`]));
}

// ---- tools and workloads ----------------------------------------------------

/** Whether `cmd` is on PATH. */
export function have(cmd) {
	return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Which Debian package each peer comes from. */
export const PEER_PACKAGE = { bpftrace: "bpftrace", perf: "linux-perf", "eu-addr2line": "elfutils", addr2line: "binutils", tmux: "tmux" };

/** A note for a missing peer, or undefined when it is there. */
export function missing(cmd) {
	return have(cmd) ? undefined : `${cmd} is not installed (apt-get install ${PEER_PACKAGE[cmd] ?? cmd}): its column is empty`;
}

/** Compiles a C file of the project (path relative to the repository) into `dir`. */
export function compile(source, dir, flags = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline"]) {
	const name = source.replace(/^.*\//, "").replace(/\.c$/, "");
	const out = join(dir, name);
	execFileSync("gcc", [...flags, "-o", out, join(root, source)]);
	return out;
}

/**
 * Keeps every CPU busy with the project's ratio-burn fixture (one per CPU
 * by default) until `stopBurners` or exit. Returns the children.
 */
export function burners(dir, count = Number(execFileSync("nproc", { encoding: "utf8" }).trim())) {
	const bin = existsSync(join(dir, "ratio-burn")) ? join(dir, "ratio-burn") : compile("test/fixtures/ratio-burn.c", dir);
	return Array.from({ length: count }, () => start(bin, ["0"]));
}

export async function stopBurners(list) {
	await Promise.all(list.map((b) => stop(b, "SIGKILL")));
}

/** Exits with one clear line unless the CLI is built and we are root. */
export function requireSetup() {
	if (process.getuid?.() !== 0) fail("needs root (BPF, perf events)");
	if (!existsSync(cli)) fail(`${cli} is missing: run npm install first`);
}

export function fail(message) {
	process.stderr.write(`${process.argv[1].replace(/^.*\//, "")}: ${message}\n`);
	process.exit(2);
}

/** { samples, lost } from the summary line `record` ends with ("wrote FILE: N samples, M lost, ..."). */
export function recordSummary(stderr) {
	// Not the progress lines ("recording 5s: N samples, M lost") before it.
	const m = /^tsprof: wrote .*: (\d+) samples, (\d+) lost, /m.exec(stderr);
	return m ? { samples: Number(m[1]), lost: Number(m[2]) } : undefined;
}

// ---- tmux -----------------------------------------------------------------

/** A detached tmux session of `width`×`height` running `command`, killed at exit. */
export function tmuxSession(name, command, width = 160, height = 45) {
	execFileSync("tmux", ["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height), `env -u CI ${command}`]);
	let alive = true;
	const kill = () => {
		if (!alive) return;
		alive = false;
		spawnSync("tmux", ["kill-session", "-t", name], { stdio: "ignore" });
	};
	atExit(kill);
	return {
		name,
		panePid: () => Number(execFileSync("tmux", ["display", "-p", "-t", name, "#{pane_pid}"], { encoding: "utf8" }).trim()),
		capture: () => {
			const r = spawnSync("tmux", ["capture-pane", "-p", "-t", name], { encoding: "utf8" });
			return r.status === 0 ? r.stdout : "";
		},
		kill,
	};
}

// ---- results ----------------------------------------------------------------

/** Formats a number with `digits` decimals, or "—" when there is none. */
export const fmt = (x, digits = 1) => (x === undefined || x === null || Number.isNaN(x) ? "—" : Number(x).toFixed(digits));

/** A ratio of two figures, or NaN when either is missing. */
export const ratio = (a, b) => (a === undefined || b === undefined || !(b > 0) ? Number.NaN : a / b);

/**
 * The last line every figure script prints: `BENCH {json}` with
 * { id, title, method, columns, rows, targets: [{ what, target, value, met }], notes }.
 * run-all.mjs turns these into RESULTS.md.
 */
export function emit(result) {
	process.stdout.write(`BENCH ${JSON.stringify({ quick: QUICK, ...result })}\n`);
}

/** Prints a line for the reader of a single script (stderr keeps stdout's last line the result). */
export const say = (line) => process.stderr.write(`${line}\n`);
