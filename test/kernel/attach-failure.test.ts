/**
 * (ARCHITECTURE.md, Principles: 1) A start that fails anywhere fails whole, with one
 * message, and leaves nothing attached.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { loadKernel } from "../../source/kernel/addon.js";
import { requireKernel } from "../helpers/root.js";

const ourPrograms = () =>
	(JSON.parse(execFileSync("bpftool", ["prog", "show", "-j"], { encoding: "utf8", maxBuffer: 1 << 26 })) as { id: number; name?: string }[])
		.filter((p) => ["on_cpu_clock", "on_exec", "on_fork", "on_exit"].includes(p.name ?? ""))
		.map((p) => p.id);

test("a failed attach rejects with one message and leaves no program behind", { skip: requireKernel() }, async () => {
	const before = new Set(ourPrograms());
	const session = loadKernel().createSession();
	// The kernel refuses a sampling frequency above perf_event_max_sample_rate,
	// after the programs have been loaded: the failure comes mid-attach.
	await assert.rejects(session.open({ frequencyHz: 100_000_000, sidebandPages: 8, stackCopyBytes: 4096, sampleRingBytes: 1 << 20 }), (e: Error) => {
		assert.match(e.message, /cpu-clock perf event on CPU \d+/);
		assert.ok(!e.message.includes("\n"), "one line");
		return true;
	});
	assert.deepEqual(session.programIds(), [], "the session holds no programs");
	for (let i = 0; i < 40; i++) {
		if (ourPrograms().every((id) => before.has(id))) break;
		await new Promise((r) => setTimeout(r, 50));
	}
	assert.deepEqual(
		ourPrograms().filter((id) => !before.has(id)),
		[],
		"no new tsprof program stays loaded",
	);
	await session.close();
});
