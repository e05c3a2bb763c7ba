/**
 * The real `tsprof top`, as root, driven in tmux as a person would: it shows
 * live functions and pids, `p` filters by pid, Esc clears, `q` quits with
 * status 0 and gives the terminal back.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Scratch, waitFor } from "../helpers/kernel-fixtures.js";
import { cliPath, requireKernel } from "../helpers/root.js";

const scratch = new Scratch("tsprof-top-");
const session = `tsprof-test-${process.pid}`;
after(async () => {
	spawnSync("tmux", ["kill-session", "-t", session]);
	await scratch.cleanup();
});

const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", session);

test("top shows live data, filters by pid from the keyboard, clears, and quits", { skip: requireKernel(), timeout: 90_000 }, async (t) => {
	const ratio = scratch.compile("ratio-burn");
	const brief = scratch.compile("brief-burn");
	const a = scratch.start(ratio, ["60"]);
	const b = scratch.start(brief, ["60000"]);
	const exitFile = join(scratch.dir, "exit");
	// At exit, says whether the bundle's Ink drew with tsprof's fast output (source/ui/ink-output.ts).
	const outputFile = join(scratch.dir, "ink-output");
	const checker = join(scratch.dir, "check-output.cjs");
	writeFileSync(
		checker,
		`process.on("exit", () => {
			const Output = globalThis[Symbol.for("tsprof.inkOutput")];
			const marks = Output ? Object.getOwnPropertySymbols(Output.prototype.get).map(String) : [];
			require("node:fs").writeFileSync(${JSON.stringify(outputFile)}, Output ? marks.join(",") : "no Output exposed");
		});`,
	);
	// Ink draws no intermediate frames under CI=true: the view runs without it.
	tmux(
		"new-session", "-d", "-s", session, "-x", "160", "-y", "45",
		`env -u CI ${process.execPath} --require ${checker} ${cliPath} top; echo EXIT=$? > ${exitFile}; sleep 30`,
	);
	const started = Date.now();
	await waitFor("ratio_alpha on screen", () => screen().includes("ratio_alpha"), 15_000, 100);
	const firstFrameMs = Date.now() - started;
	await waitFor("brief_burn_xyz on screen", () => screen().includes("brief_burn_xyz"), 10_000, 100);
	await waitFor(`pid ${a.pid} in the process list`, () => new RegExp(`\\b${a.pid}\\b`).test(screen()), 5_000, 100);
	const full = screen();
	const drawn = full.trimEnd().split("\n");
	assert.ok(drawn.length <= 44, `at most rows - 1 lines drawn, got ${drawn.length}`);

	tmux("send-keys", "-t", session, "p");
	await waitFor("the pid prompt", () => /pid/i.test(screen()), 3_000, 50);
	tmux("send-keys", "-t", session, String(a.pid), "Enter");
	const filtered = await waitFor(
		"the filtered view",
		() => {
			const s = screen();
			return s.includes("ratio_alpha") && !s.includes("brief_burn_xyz") ? s : undefined;
		},
		8_000,
		100,
	);
	assert.ok(!new RegExp(`\\b${b.pid}\\b`).test(filtered.split("\n").filter((l) => !/filter/i.test(l)).join("\n")), "the other pid is gone from the lists");

	tmux("send-keys", "-t", session, "Escape");
	await waitFor("Esc clears the filter", () => screen().includes("brief_burn_xyz"), 8_000, 100);

	tmux("send-keys", "-t", session, "q");
	await waitFor("top to exit", () => existsSync(exitFile), 5_000, 50);
	assert.equal(readFileSync(exitFile, "utf8").trim(), "EXIT=0");
	assert.equal(readFileSync(outputFile, "utf8"), "Symbol(tsprof fast output)", "the bundle draws with the fast Ink output");
	const after = screen();
	assert.ok(!after.includes("ratio_alpha"), "the alternate screen is gone after q");
	t.diagnostic(`first frame with live functions after ${firstFrameMs} ms`);
});
