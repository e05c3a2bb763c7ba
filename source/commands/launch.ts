/**
 * `-- COMMAND ARGS...`: starts a command held at a gate until the sampler
 * is armed, so its first milliseconds are sampled too, and in an
 * environment where the runtimes tsprof knows write their perf maps.
 *
 * The gate is a shell that waits for one line on fd 3 and then execs the
 * command, so the pid tsprof follows is the command's own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { basename, delimiter, join } from "node:path";
import { UserError } from "../errors.js";

/** A started command, waiting at its gate until {@link Launched.release}. */
export interface Launched {
	readonly pid: number;
	/** What the user typed, for messages. */
	readonly name: string;
	/** Lets the command run (it execs now). */
	release(): void;
	/** Ends the command, if it still runs. */
	kill(signal?: NodeJS.Signals): void;
	/** Resolves when the command ended. */
	readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const GATE = 'read -r _ <&3 || exit 127; exec 3<&-; exec "$@"';

function executable(path: string): boolean {
	try {
		accessSync(path, constants.X_OK);
		return statSync(path).isFile();
	} catch {
		return false;
	}
}

/** The file `command` runs, as the shell would find it; throws a UserError when there is none. */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv): string {
	if (command === "") throw new UserError("cannot start '': empty command", 127);
	if (command.includes("/")) {
		if (!executable(command)) throw new UserError(`cannot start ${command}: no such executable file`, 127);
		return command;
	}
	for (const dir of (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter)) {
		const path = join(dir || ".", command);
		if (executable(path)) return path;
	}
	throw new UserError(`cannot start ${command}: command not found`, 127);
}

/**
 * The environment of a launched command: Node writes a perf map of its
 * JavaScript functions (`--perf-basic-prof-only-functions` through
 * NODE_OPTIONS; the full `--perf-basic-prof` also leaves a V8 log file in
 * the working directory on Node 20), and CPython 3.12 and later
 * turn on its perf trampolines (PYTHONPERFSUPPORT=1). Both reach the
 * command's descendants too; other programs ignore them.
 */
export function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
	const nodeOptions = env.NODE_OPTIONS ?? "";
	return {
		...env,
		NODE_OPTIONS: /--perf-(basic-)?prof/.test(nodeOptions) ? nodeOptions : `${nodeOptions} --perf-basic-prof-only-functions`.trim(),
		PYTHONPERFSUPPORT: env.PYTHONPERFSUPPORT ?? "1",
	};
}

/** Starts `argv` at its gate. `quiet`: no terminal for the command (top draws on it). */
export function launch(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Launched {
	const env = launchEnv(options.env ?? process.env);
	const [command, ...args] = argv;
	resolveCommand(command ?? "", env);
	const child: ChildProcess = spawn("/bin/sh", ["-c", GATE, "sh", command, ...args], {
		env,
		stdio: options.quiet ? ["ignore", "ignore", "ignore", "pipe"] : ["inherit", "inherit", "inherit", "pipe"],
	});
	if (child.pid === undefined) throw new UserError(`cannot start ${command}`, 127);
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
		child.once("exit", (code, signal) => resolve({ code, signal }));
	});
	const gate = child.stdio[3] as NodeJS.WritableStream;
	gate.on("error", () => {
		// The command ended before its release: its exit says why.
	});
	return {
		pid: child.pid,
		name: basename(command),
		release: () => gate.end("\n"),
		kill: (signal = "SIGKILL") => {
			if (child.exitCode === null && child.signalCode === null) child.kill(signal);
		},
		exited,
	};
}

/** The line that reports how a launched command ended, and the exit code tsprof passes on. */
export function describeExit(name: string, how: { code: number | null; signal: NodeJS.Signals | null }): { line: string; exitCode: number } {
	if (how.signal) {
		const number = osConstants.signals[how.signal] ?? 0;
		return { line: `${name} was killed by ${how.signal}`, exitCode: 128 + number };
	}
	return { line: `${name} exited with status ${how.code ?? 0}`, exitCode: how.code ?? 0 };
}
