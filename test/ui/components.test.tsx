/** @jsxRuntime automatic */
/** @jsxImportSource react */
import "./force-color.js";
import { inkOutputChecks } from "./ink-output-check.js";
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import {
	cellsLine,
	functionCells,
	type HeaderInfo,
} from "../../source/ui/top-format.js";
import { callGraph } from "../../source/profile/top/call-graph.js";
import { NO_FILTER } from "../../source/profile/top/filter.js";
import { type FunctionSort, functionTable } from "../../source/profile/top/function-table.js";
import { processRows } from "../../source/profile/top/process-rows.js";
import { CallGraph } from "../../source/ui/CallGraph.js";
import { Footer } from "../../source/ui/Footer.js";
import { FunctionList } from "../../source/ui/FunctionList.js";
import { Header } from "../../source/ui/Header.js";
import { Help } from "../../source/ui/Help.js";
import { HELP_LINES } from "../../source/ui/help-text.js";
import { UNKNOWN_HELP } from "../../source/symbols/unknown.js";
import { PidPrompt } from "../../source/ui/PidPrompt.js";
import { ProcessList } from "../../source/ui/ProcessList.js";
import { Prompt } from "../../source/ui/Prompt.js";
import { Rows } from "../../source/ui/Rows.js";
import { STATS, systemBatch } from "./fake-source.js";
import {
	boldLines,
	DIM,
	dataOf,
	GREEN,
	inverseLines,
	plain,
	RED,
} from "./helpers.js";

afterEach(() => cleanup());

const data = dataOf([[systemBatch()]]);
const TOP = { index: 0, offset: 0 };

/** Plain lines of a component's frame; rows are padded to the width for the selection bar, so trim. */
function lines(node: React.ReactElement): string[] {
	return plain(render(node).lastFrame())
		.split("\n")
		.map((l) => l.trimEnd());
}

const header: HeaderInfo = {
	stats: STATS,
	samplesPerSecond: 396,
	selfCpuPercent: 0.4,
	selfRssBytes: 80 * 1024 * 1024,
	filter: NO_FILTER,
	windowS: 10,
	paused: false,
};

describe("Header", () => {
	test("three lines: rates and own cost, housekeeping, status", () => {
		assert.deepEqual(lines(<Header info={header} lines={3} />), [
			"tsprof top  99 Hz  4 CPUs  396 samples/s  lost 3  │  tsprof 0.4% CPU  80.0 MiB RSS",
			"processes seen 2  deferred 7  │  map cleanup: batch 40  fallback 5  failed 1",
			"no filters  │  window 10 s",
		]);
	});

	test("two lines drop the housekeeping; filters, pause and recording show", () => {
		const info: HeaderInfo = {
			...header,
			filter: { pids: [7], search: "alloc", hideKernel: true },
			paused: true,
			recording: { file: "run.pb.gz", samples: 1500 },
		};
		assert.deepEqual(lines(<Header info={info} lines={2} />), [
			"tsprof top  99 Hz  4 CPUs  396 samples/s  lost 3  │  tsprof 0.4% CPU  80.0 MiB RSS",
			'filter: pid 7  search "alloc"  kernel hidden  │  window 10 s  │  PAUSED  │  ● REC run.pb.gz (1500 s…',
		]);
	});

	test("long lines are cut, never wrapped", () => {
		const info: HeaderInfo = {
			...header,
			recording: { file: `${"x".repeat(200)}.pb.gz`, samples: 1 },
		};
		const out = lines(<Header info={info} lines={3} />);
		assert.equal(out.length, 3);
		assert.ok(out.every((l) => l.length <= 100));
	});
});

describe("ProcessList", () => {
	const rows = processRows(data);

	test("columns, rows and blank fillers to its height", () => {
		const out = lines(
			<ProcessList rows={rows} height={4} width={80} cursor={TOP} focused />,
		);
		assert.deepEqual(out, [
			"▸   PID COMM               CPU%  SAMPLES  UNK% EXE",
			"    100 ratio              95.0       95   1.6 /opt/bench/ratio",
			"    200 bash                5.0        5   0.0 /usr/bin/bash",
			"",
			"",
		]);
	});

	test("the focused selection is inverse; unfocused lists mark the selection bold", () => {
		const focused = render(
			<ProcessList
				rows={rows}
				height={2}
				width={80}
				cursor={{ index: 1, offset: 0 }}
				focused
			/>,
		);
		assert.deepEqual(inverseLines(focused.lastFrame()), [
			"200 bash                5.0        5   0.0 /usr/bin/bash",
		]);
		const unfocused = render(
			<ProcessList
				rows={rows}
				height={2}
				width={80}
				cursor={TOP}
				focused={false}
			/>,
		);
		assert.deepEqual(inverseLines(unfocused.lastFrame()), [
			"PID COMM               CPU%  SAMPLES  UNK% EXE",
		]);
		assert.deepEqual(boldLines(unfocused.lastFrame()), [
			"PID COMM               CPU%  SAMPLES  UNK% EXE",
			"100 ratio              95.0       95   1.6 /opt/bench/ratio",
		]);
	});

	test("scrolls by its cursor's offset", () => {
		const out = lines(
			<ProcessList
				rows={rows}
				height={1}
				width={80}
				cursor={{ index: 1, offset: 1 }}
				focused
			/>,
		);
		assert.deepEqual(out.slice(1), [
			"    200 bash                5.0        5   0.0 /usr/bin/bash",
		]);
	});

	test("says when there is nothing yet", () => {
		assert.deepEqual(
			lines(
				<ProcessList rows={[]} height={2} width={80} cursor={TOP} focused />,
			).slice(1),
			["(no samples yet)", ""],
		);
	});
});

describe("FunctionList", () => {
	const rows = functionTable(data, NO_FILTER).rows;

	test("self %, total %, [k] for kernel frames, unnamed frames with module and reason", () => {
		const out = lines(
			<FunctionList
				rows={rows.slice(3)}
				height={5}
				width={80}
				cursor={TOP}
				focused={false}
				search=""
			/>,
		);
		assert.deepEqual(out, [
			"   SELF% ▼TOTAL%     FUNCTION                                  MODULE",
			"    20.0    20.0 [.] hot_beta                                  ratio",
			"    10.0    10.0 [k] do_syscall_64                             [kernel]",
			"     0.0    10.0 [k] entry_SYSCALL_64                          [kernel]",
			"     0.0    10.0 [.] write                                     libc.so.6",
			"     5.0     5.0 [.] [unknown] (no symbols)                    libblob.so",
		]);
	});

	test("the column header marks the sort column with ▼, beside the focus mark", () => {
		const bySelf = functionTable(data, NO_FILTER, "self").rows;
		const header = (sort: FunctionSort, focused: boolean) =>
			lines(
				<FunctionList
					rows={bySelf}
					height={1}
					width={80}
					cursor={TOP}
					focused={focused}
					search=""
					sort={sort}
				/>,
			)[0];
		assert.match(
			header("self", false) ?? "",
			/^ {2}▼SELF% {2}TOTAL% {5}FUNCTION/,
		);
		assert.match(header("self", true) ?? "", /^▸ ▼SELF% {2}TOTAL% {5}FUNCTION/);
		assert.match(
			header("total", true) ?? "",
			/^▸ {2}SELF% ▼TOTAL% {5}FUNCTION/,
		);
	});

	test("hot rows are red, warm rows green, unnamed rows dim", () => {
		const warm = {
			...(rows[1] as (typeof rows)[number]),
			key: "warm",
			name: "warm_fn",
			selfPercent: 1,
		};
		const frame =
			render(
				<FunctionList
					rows={[...rows, warm]}
					height={12}
					width={80}
					cursor={TOP}
					focused={false}
					search=""
				/>,
			).lastFrame() ?? "";
		const line = (name: string) =>
			frame.split("\n").find((l) => l.includes(name)) ?? "";
		assert.ok(line("hot_alpha").includes(RED));
		assert.ok(line("warm_fn").includes(GREEN));
		assert.ok(line("[unknown]").includes(DIM));
		assert.ok(
			!line("entry_SYSCALL_64").includes(RED) &&
				!line("entry_SYSCALL_64").includes(GREEN),
		);
	});

	test("an empty search result says what was searched", () => {
		assert.deepEqual(
			lines(
				<FunctionList
					rows={[]}
					height={3}
					width={80}
					cursor={TOP}
					focused
					search="zzz"
				/>,
			).slice(1),
			['(no function matches "zzz")'],
		);
	});
});

describe("Rows", () => {
	const row = (name: string, style = {}) => ({
		cells: functionCells(
			{
				key: name,
				name,
				module: "/usr/lib/libx.so",
				kernel: false,
				self: 1,
				total: 2,
				selfPercent: 1,
				totalPercent: 2,
			},
			80,
		),
		style,
	});
	/** Columns a line takes, counting CJK ideographs as two. */
	const columns = (line: string) =>
		[...line].reduce((n, c) => n + (/[\u4e00-\u9fff]/.test(c) ? 2 : 1), 0);

	test("draws the rows as the lines the formatter makes, styles and bars included", () => {
		const rows = [
			row("plain_a"),
			row("hot", { color: "red" }),
			row("plain_b"),
			row("chosen", { inverse: true }),
		];
		const frame =
			render(<Rows rows={rows} width={80} height={6} />).lastFrame() ?? "";
		assert.deepEqual(
			plain(frame)
				.split("\n")
				.map((l) => l.trimEnd()),
			[...rows.map((r) => cellsLine(r.cells, 80).trimEnd()), "", ""],
		);
		const lines = frame.split("\n");
		assert.ok(lines[1]?.includes(RED));
		assert.ok(!lines[0]?.includes(RED) && !lines[2]?.includes(RED));
		assert.deepEqual(inverseLines(frame), [
			cellsLine(row("chosen").cells, 80).trim(),
		]);
	});

	test("wide characters get a line each, cut to the width by Ink", () => {
		const rows = [row("関数".repeat(60)), row("ascii"), row("名前_x")];
		const out = lines(<Rows rows={rows} width={80} />);
		assert.equal(out.length, 3);
		for (const line of out) assert.ok(columns(line) <= 80, line);
		assert.match(out[1] ?? "", /ascii +libx\.so$/);
		assert.match(out[0] ?? "", /libx\.so$/);
	});

	test("no rows: the empty text, in the height it keeps", () => {
		assert.deepEqual(
			lines(<Rows rows={[]} width={80} height={3} empty="(none)" />),
			["(none)", "", ""],
		);
	});
});

describe("CallGraph", () => {
	const main = functionTable(data, NO_FILTER).rows.find(
		(r) => r.name === "main" && r.module.endsWith("ratio"),
	);
	assert.ok(main);
	const graph = callGraph(data, NO_FILTER, main.key);

	test("title, callers and callees with samples and share of the function's total", () => {
		const out = lines(
			<CallGraph
				graph={graph}
				name="main"
				callerRows={2}
				calleeRows={3}
				width={80}
				cursor={1}
			/>,
		);
		assert.deepEqual(out, [
			"[.] main  (ratio)  self 0  total 95 samples",
			" SAMPLES       %     CALLERS                                   MODULE",
			"      95   100.0 [.] __libc_start_main                         libc.so.6",
			"",
			" SAMPLES       %     CALLEES                                   MODULE",
			"      60    63.2 [.] hot_alpha                                 ratio",
			"      20    21.1 [.] hot_beta                                  ratio",
			"      10    10.5 [.] write                                     libc.so.6",
		]);
	});

	test("the cursor runs over callers then callees, each section scrolling to it", () => {
		const frame = render(
			<CallGraph
				graph={graph}
				name="main"
				callerRows={1}
				calleeRows={2}
				width={80}
				cursor={4}
			/>,
		).lastFrame();
		const selected = inverseLines(frame).filter(
			(l) => !l.startsWith("SAMPLES"),
		);
		assert.equal(selected.length, 1);
		assert.match(selected[0] ?? "", /\[unknown\] \(no symbols\)/);
	});

	test("a function without samples says so", () => {
		assert.deepEqual(
			lines(
				<CallGraph
					name="gone"
					callerRows={2}
					calleeRows={2}
					width={80}
					cursor={0}
				/>,
			),
			["gone: no samples in the window under the current filters"],
		);
	});
});

describe("Footer, prompts, help", () => {
	test("the footer gives the keys of the mode, cut to the width", () => {
		const [normal] = lines(<Footer mode="normal" width={60} />);
		assert.equal(normal?.length, 60);
		assert.match(
			normal ?? "",
			/^q quit {2}p pid {2}\/ search {2}s sort:total .*…$/,
		);
		assert.match(
			lines(<Footer mode="normal" width={80} sort="self" />)[0] ?? "",
			/ s sort:self /,
		);
		assert.deepEqual(lines(<Footer mode="help" width={80} />), [
			"↑↓ PgUp/PgDn scroll  any other key: back",
		]);
		assert.deepEqual(
			lines(<Footer mode="callGraph" width={80} message="wrote x.pb.gz" />),
			["wrote x.pb.gz"],
		);
	});

	test("prompts show the label, the text with a cursor, and an error", () => {
		assert.deepEqual(lines(<PidPrompt value="12, 34" width={80} />), [
			"filter pid(s): 12, 34",
		]);
		assert.deepEqual(
			lines(
				<PidPrompt value="42" message="no process with pid 42" width={80} />,
			),
			["filter pid(s): 42   no process with pid 42"],
		);
		const long =
			lines(
				<Prompt label="search:" value={`${"a".repeat(50)}END`} width={30} />,
			)[0] ?? "";
		assert.ok(long.length <= 30);
		assert.match(long, /^search: …a+END/);
	});

	test("help lists every key and fits its height", () => {
		const all = lines(<Help height={40} width={100} />).join("\n");
		for (const [keys] of HELP_LINES) assert.ok(all.includes(keys), keys);
		assert.equal(lines(<Help height={4} width={100} />).length, 4);
	});

	test("help has a section on unknown frames: every reason, what it means and what to do, whole at 80 columns", () => {
		const height = 60;
		const out = lines(<Help height={height} width={80} />);
		assert.ok(out.length < height, "all of it fits in 60 lines");
		assert.ok(out.every((l) => l.length <= 80 && !l.includes("…")), "wrapped, never cut");
		const section = out.slice(out.indexOf("Unknown frames"));
		assert.ok(section.length > UNKNOWN_HELP.length, "the section is there");
		// Wrapped lines joined again give each help line whole.
		const text = section.map((l) => l.trim()).join(" ");
		for (const [kind, line] of UNKNOWN_HELP) assert.ok(text.includes(line), kind);
		assert.match(text, /UNK%/);
		const bold = boldLines(render(<Help height={height} width={80} />).lastFrame());
		assert.ok(bold.includes("Unknown frames"), "the section title stands out");
	});

	test("a help taller than its height says how much more there is, and scrolls to its last page at most", () => {
		const all = lines(<Help height={200} width={80} />).filter((l) => l !== "");
		const first = lines(<Help height={10} width={80} />);
		assert.equal(first.length, 10);
		assert.match(first[9] ?? "", /^ {2}↓ \d+ more lines: ↑ ↓ PgUp PgDn scroll$/);
		const more = Number(/↓ (\d+)/.exec(first[9] ?? "")?.[1]);
		const total = lines(<Help height={200} width={80} />).length;
		assert.equal(more, total - 9, "the marker counts the lines it stands for");
		const last = lines(<Help height={10} width={80} offset={1000} />);
		assert.equal(last.length, 10);
		assert.ok(!last.some((l) => l.includes("more lines")), "the last page has no marker");
		assert.equal(last.at(-1), all.at(-1));
	});
});

test("every frame above was drawn the same by the fast Ink output as by Ink's own", () => {
	assert.ok(inkOutputChecks.fast > 10, `fast frames ${inkOutputChecks.fast}`);
	assert.deepEqual(inkOutputChecks.mismatches.slice(0, 1), []);
});
