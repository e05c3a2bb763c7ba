import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { type ReportOptions, report } from "../../source/commands/report.js";
import { UserError } from "../../source/errors.js";
import { formatFolded } from "../../source/output/folded.js";
import { encodeProfile, encodeProfileRaw } from "../../source/output/pprof.js";
import {
	formatReportText,
	shortenPath,
	table,
} from "../../source/output/report-text.js";
import { aggregate } from "../../source/profile/aggregate.js";
import {
	type Frame,
	KERNEL_MODULE,
	type Profile,
} from "../../source/profile/model.js";
import { kernelFrame, userFrame } from "../helpers/frames.js";

const EXE = "/tmp/tsprof-acc.abc123/wl/ratio";
const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const f = (name: string, module = EXE): Frame => userFrame(name, module);
const k = kernelFrame;
const stack = (...outerToInner: Frame[]) => [...outerToInner].reverse();
const base = { startNs: 10n, exe: EXE };

const profile: Profile = {
	unit: "samples",
	frequencyHz: 99,
	startTimeMs: 1_752_000_000_000,
	durationMs: 5000,
	lostSamples: 3,
	samples: [
		{
			...base,
			pid: 42,
			tid: 42,
			comm: "ratio",
			value: 300,
			frames: stack(
				f("__libc_start_call_main", LIBC),
				f("main"),
				f("work_loop"),
				f("hot_alpha"),
				f("spin"),
			),
		},
		{
			...base,
			pid: 42,
			tid: 42,
			comm: "ratio",
			value: 100,
			frames: stack(
				f("__libc_start_call_main", LIBC),
				f("main"),
				f("work_loop"),
				f("hot_beta"),
				f("spin"),
			),
		},
		{
			...base,
			pid: 42,
			tid: 42,
			comm: "ratio",
			value: 1,
			frames: stack(
				f("main"),
				f("work_loop"),
				k("asm_sysvec_apic_timer_interrupt"),
			),
		},
		{
			pid: 77,
			tid: 78,
			startNs: 20n,
			comm: "bash",
			exe: "/usr/bin/bash",
			value: 5,
			frames: stack(
				f("main", "/usr/bin/bash"),
				k("do_syscall_64"),
				k("ksys_read"),
			),
		},
	],
};

/** A stdout that keeps what it was given. */
function sink(): { stream: Writable; text: () => string } {
	const chunks: string[] = [];
	const stream = new Writable({
		write(chunk: Buffer, _enc, cb) {
			chunks.push(chunk.toString());
			cb();
		},
	});
	return { stream, text: () => chunks.join("") };
}

let dir = "";
let file = "";

async function run(opts: Partial<ReportOptions>): Promise<string> {
	const out = sink();
	await report({
		file,
		format: "table",
		pids: [],
		comms: [],
		stdout: out.stream,
		...opts,
	});
	return out.text();
}

before(async () => {
	dir = await mkdtemp(join(tmpdir(), "tsprof-report-"));
	file = join(dir, "r.pb.gz");
	await writeFile(file, encodeProfile(profile));
});
after(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("report --json", () => {
	test("prints exactly the documented object", async () => {
		const out = await run({ format: "json" });
		assert.ok(out.endsWith("}\n"));
		const r = JSON.parse(out);
		assert.deepEqual(Object.keys(r), [
			"samples",
			"lostSamples",
			"durationMs",
			"frequencyHz",
			"unit",
			"processes",
			"functions",
		]);
		assert.deepEqual(r.processes, [
			{ pid: 42, comm: "ratio", exe: EXE, samples: 401 },
			{ pid: 77, comm: "bash", exe: "/usr/bin/bash", samples: 5 },
		]);
		assert.equal(r.samples, 406);
		assert.equal(r.lostSamples, 3);
		assert.equal(r.durationMs, 5000);
		assert.equal(r.frequencyHz, 99);
		assert.equal(r.unit, "samples");
		for (const fn of r.functions) {
			assert.deepEqual(Object.keys(fn), ["name", "module", "self", "total"]);
		}
		const byName = (n: string) =>
			r.functions.find((x: { name: string }) => x.name === n);
		assert.deepEqual(byName("spin"), {
			name: "spin",
			module: EXE,
			self: 400,
			total: 400,
		});
		assert.deepEqual(byName("hot_alpha"), {
			name: "hot_alpha",
			module: EXE,
			self: 0,
			total: 300,
		});
		assert.deepEqual(byName("work_loop"), {
			name: "work_loop",
			module: EXE,
			self: 0,
			total: 401,
		});
		assert.deepEqual(byName("ksys_read"), {
			name: "ksys_read",
			module: KERNEL_MODULE,
			self: 5,
			total: 5,
		});
		assert.equal(r.functions[0].name, "spin");
		const selfs = r.functions.map((x: { self: number }) => x.self);
		assert.deepEqual(
			selfs,
			[...selfs].sort((a, b) => b - a),
		);
		// every function, not a top 20
		assert.equal(r.functions.length, 10);
	});

	test("filters by pid and comm before counting", async () => {
		const byPid = JSON.parse(await run({ format: "json", pids: [77] }));
		assert.equal(byPid.samples, 5);
		assert.deepEqual(
			byPid.processes.map((p: { pid: number }) => p.pid),
			[77],
		);
		assert.equal(
			byPid.functions.find((x: { name: string }) => x.name === "main").total,
			5,
		);

		const byComm = JSON.parse(await run({ format: "json", comms: ["ratio"] }));
		assert.equal(byComm.samples, 401);
		assert.equal(
			byComm.functions.find((x: { name: string }) => x.name === "main").total,
			401,
		);

		const nothing = JSON.parse(await run({ format: "json", pids: [1] }));
		assert.deepEqual(
			[nothing.samples, nothing.processes, nothing.functions],
			[0, [], []],
		);
	});

	test("--top limits the lists", async () => {
		const r = JSON.parse(await run({ format: "json", top: 2 }));
		assert.equal(r.functions.length, 2);
		assert.equal(r.processes.length, 2);
		assert.equal(r.samples, 406);
	});

	test("off-CPU profiles say nanoseconds", async () => {
		const off = join(dir, "off.pb.gz");
		await writeFile(off, encodeProfile({ ...profile, unit: "nanoseconds" }));
		const r = JSON.parse(await run({ file: off, format: "json" }));
		assert.equal(r.unit, "nanoseconds");
	});

	test("reads an uncompressed profile too", async () => {
		const raw = join(dir, "raw.pb");
		await writeFile(raw, encodeProfileRaw(profile));
		assert.equal(
			JSON.parse(await run({ file: raw, format: "json" })).samples,
			406,
		);
	});
});

describe("report (table)", () => {
	test("shows a summary, the processes and the top function", async () => {
		const out = await run({});
		const lines = out.split("\n");
		assert.match(
			lines[0] ?? "",
			/^406 samples, 5\.00s recorded, 99 Hz, 3 lost$/,
		);
		assert.match(out, /^\s+42\s+ratio\s+401\s+98\.8%\s+\S*ratio$/m);
		assert.match(out, /^\s+98\.5%\s+98\.5%\s+400\s+spin\s+\S*ratio$/m);
		assert.match(out, /hot_alpha/);
		assert.ok(
			lines.every((l) => l === l.trimEnd()),
			"no trailing blanks",
		);
	});

	test("--top limits the rows", async () => {
		const out = await run({ top: 1 });
		assert.match(out, /Functions \(top 1 of 10\)/);
		assert.doesNotMatch(out, /hot_alpha/);
	});

	test("says so when nothing matched", async () => {
		assert.match(await run({ pids: [1] }), /^0 samples.*\n\nNo samples\.\n$/);
	});

	test("columns line up", () => {
		const text = formatReportText(profile, aggregate(profile.samples));
		const header = text.split("\n").find((l) => l.includes("FUNCTION")) ?? "";
		const col = header.indexOf("FUNCTION");
		for (const line of text
			.split("\n")
			.slice(text.split("\n").indexOf(header) + 1)) {
			if (line === "") continue;
			assert.notEqual(line[col], " ", line);
			assert.equal(line[col - 1], " ", line);
		}
	});

	test("formats durations for off-CPU profiles", () => {
		const text = formatReportText(
			{ ...profile, unit: "nanoseconds" },
			aggregate(
				profile.samples.map((s) => ({ ...s, value: s.value * 10_000_000 })),
			),
		);
		assert.match(text, /^4\.06s off-CPU/);
		assert.match(text, /BLOCKED/);
		assert.match(text, /4\.00s\s+spin/);
	});

	test("table pads all but a left-aligned last column", () => {
		assert.deepEqual(
			table(
				[
					["A", "BB", "C"],
					["aaa", "b", "ccc"],
				],
				"lrl",
			),
			["A    BB  C", "aaa   b  ccc"],
		);
	});

	test("shortenPath keeps the file name", () => {
		assert.equal(shortenPath("/usr/bin/bash", 40), "/usr/bin/bash");
		assert.equal(
			shortenPath("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", 30),
			"…/libstdc++.so.6.0.30",
		);
		assert.equal(
			shortenPath("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", 12),
			"…/o/p/q/r/s",
		);
		assert.equal(shortenPath("/x/a-very-long-file-name.so", 10), "…e-name.so");
		assert.equal(shortenPath("/x/a-very-long-file-name.so", 10).length, 10);
	});
});

describe("report --folded", () => {
	test("prints one line per stack, outermost first", async () => {
		const out = await run({ format: "folded" });
		assert.deepEqual(out.split("\n"), [
			"bash;main;do_syscall_64;ksys_read 5",
			"ratio;__libc_start_call_main;main;work_loop;hot_alpha;spin 300",
			"ratio;__libc_start_call_main;main;work_loop;hot_beta;spin 100",
			"ratio;main;work_loop;asm_sysvec_apic_timer_interrupt 1",
			"",
		]);
		assert.match(out, /(^|;)work_loop;hot_alpha;spin [0-9]+$/m);
	});

	test("filters, and merges identical stacks of other threads", async () => {
		const out = await run({ format: "folded", pids: [77] });
		assert.equal(out, "bash;main;do_syscall_64;ksys_read 5\n");
		const s = profile.samples[0] as Profile["samples"][number];
		assert.equal(
			formatFolded([
				s,
				{ ...s, tid: 43, pid: 50 },
				{ ...s, frames: [f("a;b\nc")], comm: "" },
			]),
			"[unknown];a:b c 300\nratio;__libc_start_call_main;main;work_loop;hot_alpha;spin 600\n",
		);
	});
});

describe("report errors", () => {
	async function userError(opts: Partial<ReportOptions>): Promise<string> {
		let caught: unknown;
		try {
			await run(opts);
		} catch (e) {
			caught = e;
		}
		assert.ok(
			caught instanceof UserError,
			`expected a UserError, got ${caught}`,
		);
		assert.ok(!caught.message.includes("\n"), "one line");
		return caught.message;
	}

	test("missing file", async () => {
		const missing = join(dir, "nope.pb.gz");
		assert.equal(
			await userError({ file: missing }),
			`cannot read ${missing}: no such file`,
		);
	});

	test("a directory", async () => {
		assert.equal(
			await userError({ file: dir }),
			`cannot read ${dir}: is a directory`,
		);
	});

	test("empty file", async () => {
		const empty = join(dir, "empty.pb.gz");
		await writeFile(empty, "");
		assert.equal(await userError({ file: empty }), `${empty} is empty`);
	});

	test("corrupt files", async () => {
		const bad = join(dir, "bad.pb.gz");
		for (const bytes of [
			Buffer.from("this is not a profile\n"),
			encodeProfile(profile).subarray(0, 40),
			encodeProfileRaw(profile).subarray(0, 100),
		]) {
			await writeFile(bad, bytes);
			assert.match(
				await userError({ file: bad, format: "json" }),
				new RegExp(
					`^${bad.replace(/[.]/g, "\\.")}: not a tsprof/pprof profile \\(.+\\)$`,
				),
			);
		}
	});

	test("a bad --top", async () => {
		assert.match(await userError({ top: -1 }), /--top/);
		assert.match(await userError({ top: 1.5 }), /--top/);
	});
});
