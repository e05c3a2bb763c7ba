/**
 * CPython >= 3.12 with `-X perf`: its trampolines, in anonymous executable
 * memory of a real process, are named as Python names them. Uses the real
 * /proc and the perf map the interpreter writes; no BPF.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ProcFs } from "../../source/process/procfs.js";
import { KernelSymbols } from "../../source/symbols/kallsyms.js";
import { Symbolizer } from "../../source/symbols/symbolizer.js";
import { fixturesDir, Scratch, waitFor, waitForLines } from "../helpers/kernel-fixtures.js";

/** A CPython >= 3.12: on PATH, or under pyenv's root. */
function findPython(): string | undefined {
	const candidates = ["python3.13", "python3.12", "python3"];
	const pyenvRoot = process.env.PYENV_ROOT ?? path.join(os.homedir(), ".pyenv");
	try {
		for (const v of fs.readdirSync(path.join(pyenvRoot, "versions")).sort().reverse()) candidates.push(path.join(pyenvRoot, "versions", v, "bin", "python3"));
	} catch {
		// no pyenv
	}
	for (const python of candidates) {
		try {
			const version = execFileSync(python, ["-c", "import sys; print(sys.version_info >= (3, 12))"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
			if (version.trim() === "True") return python;
		} catch {
			// not there
		}
	}
	return undefined;
}

const python = findPython();
const skip = python === undefined ? "no CPython >= 3.12 (on PATH or under pyenv)" : process.platform !== "linux" ? "Linux only" : false;
const scratch = new Scratch("tsprof-py-");
after(() => scratch.cleanup());

test("python -X perf: trampolines named `fib` in the script, from a real process's perf map", { skip }, async () => {
	const script = path.join(fixturesDir, "py-burn.py");
	const p = scratch.start(python as string, ["-X", "perf", script, "10"]);
	await waitForLines(p, 1);
	const map = `/tmp/perf-${p.pid}.map`;
	try {
		const line = await waitFor("fib in the perf map", () => {
			try {
				return fs.readFileSync(map, "utf8").split("\n").find((l) => l.includes("py::fib:"));
			} catch {
				return undefined;
			}
		});
		const address = BigInt(`0x${line.split(" ")[0]}`);
		const snapshot = new ProcFs().read(p.pid);
		assert.ok(snapshot);
		const mapping = snapshot.image.find(address);
		assert.equal(mapping?.path, "//anon", "the trampoline sits in anonymous executable memory");
		const s = new Symbolizer({ loadKernelSymbols: () => new KernelSymbols(0n, []) });
		const frame = s.userFrame(p.pid, snapshot.image, address + 1n, false);
		assert.deepEqual([frame.name, frame.module, frame.unknownReason], ["fib", script, undefined]);
	} finally {
		p.child.kill("SIGKILL");
		fs.rmSync(map, { force: true });
	}
});
