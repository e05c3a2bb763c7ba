/** @jsxRuntime automatic */
/** @jsxImportSource react */
import "./force-color.js";
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { cleanup } from "ink-testing-library";
import { zero } from "../../source/profile/top-model.js";
import { batch, sample, systemBatch, user } from "./fake-source.js";
import { DIM, dataOf, inverseLines, KEY, plain, renderApp } from "./helpers.js";

afterEach(() => cleanup());

const data = dataOf([[systemBatch()]]);

function functionNames(text: string): string[] {
	const lines = text.split("\n");
	const start = lines.findIndex((l) => l.includes("FUNCTION"));
	return lines
		.slice(start + 1, -1)
		.map((l) => l.match(/\[[.k]\] (\S+(?: \(no symbols\))?)/)?.[1])
		.filter((name): name is string => name !== undefined);
}

describe("App", () => {
	test("shows header, processes, functions and key hints, within rows - 1 lines", () => {
		const app = renderApp({ data });
		const text = app.text();
		assert.match(
			text,
			/^tsprof top {2}99 Hz {2}4 CPUs {2}100 samples\/s {2}lost 3/,
		);
		assert.match(text, /deferred 7/);
		assert.match(text, / +100 ratio +95\.0 +95 \/opt\/bench\/ratio/);
		assert.match(text, / +60\.0 +60\.0 \[\.\] hot_alpha +ratio/);
		assert.match(text, /\[k\] do_syscall_64 +\[kernel\]/);
		assert.match(text, /\[unknown\] \(no symbols\) +libblob\.so/);
		assert.match(text.split("\n").at(-1) ?? "", /^q quit {2}p pid/);
		// ink-testing-library's stdout has no rows: the view assumes 24.
		assert.ok(text.split("\n").length <= 23);
	});

	test("the first frame shows the header before any sample arrived", () => {
		const app = renderApp({ data: dataOf([]) });
		assert.match(app.text(), /^tsprof top/);
		assert.match(app.text(), /\(no samples yet\)/);
	});

	test("never draws more than rows - 1 lines, at any size; too small gives one line", async () => {
		for (const [columns, rows] of [
			[60, 12],
			[80, 24],
			[100, 40],
			[200, 60],
		] as const) {
			const many = dataOf([
				[
					batch(
						Array.from({ length: 80 }, (_, i) =>
							sample(1000 + i, [user("main"), user(`f${i}`)], 1),
						),
					),
				],
			]);
			const app = renderApp({ data: many, size: { columns, rows } });
			for (const mode of ["", "?", `${KEY.escape}\t${KEY.enter}`]) {
				await app.press(...mode.split(""));
				const lines = plain(app.lastFrame()).split("\n");
				assert.ok(
					lines.length <= rows - 1,
					`${columns}x${rows} "${mode}": ${lines.length} lines`,
				);
			}
			app.unmount();
		}
		const tiny = renderApp({ data, size: { columns: 50, rows: 10 } });
		assert.equal(
			tiny.text(),
			"tsprof top needs at least 60×12 (this terminal is 50×10); q quits",
		);
		await tiny.press("q");
		assert.equal(tiny.calls.quit, 1);
	});

	test("q and Ctrl-C quit", async () => {
		const app = renderApp({ data });
		await app.press("q");
		await app.press(KEY.ctrlC);
		assert.equal(app.calls.quit, 2);
	});

	test("p filters by several pids, and says so in the header", async () => {
		const app = renderApp({ data });
		await app.press("p");
		assert.match(app.text(), /filter pid\(s\):/);
		await app.press("2", "0", "0", ",", " ", "1", "0", "0", KEY.enter);
		const text = app.text();
		assert.match(text, /filter: pid 200,100/);
		assert.match(text, /^ +100 ratio/m);
		assert.match(text, /^ +200 bash/m);
		await app.press(
			"p",
			KEY.backspace,
			KEY.backspace,
			KEY.backspace,
			KEY.backspace,
			KEY.enter,
		);
		assert.match(app.text(), /filter: pid 200\b/);
		assert.doesNotMatch(app.text(), /^ +100 ratio/m);
		assert.deepEqual(functionNames(app.text()), ["readline", "main"]);
	});

	test("pids and Enter sent in one chunk (tmux send-keys 200 Enter) apply the filter", async () => {
		const app = renderApp({ data });
		await app.press("p", "200\r");
		assert.match(app.text(), /filter: pid 200/);
		assert.doesNotMatch(app.text(), /^ +100 ratio/m);
	});

	test("a pid that does not exist gets a message, not a filter", async () => {
		const app = renderApp({ data });
		await app.press("p", "4", "2", KEY.enter);
		assert.match(app.text(), /filter pid\(s\): 42 +no process with pid 42/);
		assert.match(app.text(), /no filters/);
		await app.press(",", "1", "0", "0", KEY.enter);
		assert.match(app.text(), /filter: pid 100/);
		assert.match(
			app.text().split("\n").at(-1) ?? "",
			/no process with pid 42 \(ignored\)/,
		);
		await app.press("p", "x", KEY.enter);
		assert.match(app.text(), /not a pid: "100x"/);
		await app.press(KEY.escape);
		assert.match(app.text().split("\n").at(-1) ?? "", /^q quit/);
	});

	test("Enter on a process filters to it; Esc clears the filter", async () => {
		const app = renderApp({ data });
		await app.press(KEY.down, KEY.enter);
		assert.match(app.text(), /filter: pid 200/);
		assert.deepEqual(functionNames(app.text()), ["readline", "main"]);
		await app.press(KEY.escape);
		assert.match(app.text(), /no filters/);
		assert.equal(functionNames(app.text())[0], "__libc_start_main");
	});

	test("--pid starts filtered", () => {
		const app = renderApp({ data, initialPids: [200] });
		assert.match(app.text(), /filter: pid 200/);
	});

	test("/ searches function names without case as one types; Esc clears it", async () => {
		const app = renderApp({ data });
		await app.press("/", "H", "O", "T");
		assert.match(app.text(), /search functions: HOT/);
		assert.deepEqual(functionNames(app.text()), ["hot_alpha", "hot_beta"]);
		await app.press("_", "a", KEY.enter);
		assert.deepEqual(functionNames(app.text()), ["hot_alpha"]);
		assert.match(app.text(), /search "HOT_a"/);
		await app.press(
			"/",
			KEY.backspace,
			KEY.backspace,
			KEY.backspace,
			KEY.backspace,
			"x",
			"y",
			"z",
		);
		assert.match(app.text(), /\(no function matches "Hxyz"\)/);
		await app.press(KEY.escape);
		assert.equal(functionNames(app.text())[0], "__libc_start_main");
		assert.match(app.text(), /no filters/);
	});

	test("Tab moves focus; arrows and pages move in the focused list only", async () => {
		const app = renderApp({ data });
		assert.match(app.text(), /^▸ +PID COMM/m);
		assert.deepEqual(inverseLines(app.lastFrame()).slice(-1), [
			"SELF% ▼TOTAL%     FUNCTION                                                MODULE",
		]);
		assert.match(inverseLines(app.lastFrame())[0] ?? "", /^100 ratio/);
		await app.press(KEY.tab);
		assert.match(app.text(), /^▸ +SELF% +▼TOTAL%/m);
		assert.match(app.text(), /^ +PID COMM/m);
		assert.match(
			inverseLines(app.lastFrame()).at(-1) ?? "",
			/__libc_start_main/,
		);
		await app.press(KEY.down, KEY.down);
		assert.match(inverseLines(app.lastFrame()).at(-1) ?? "", /hot_alpha/);
		await app.press(KEY.pageDown);
		assert.match(inverseLines(app.lastFrame()).at(-1) ?? "", /main +bash/);
		await app.press(KEY.pageUp);
		assert.match(
			inverseLines(app.lastFrame()).at(-1) ?? "",
			/__libc_start_main/,
		);
		await app.press(KEY.tab, KEY.down);
		assert.match(inverseLines(app.lastFrame())[0] ?? "", /^200 bash/);
	});

	test("a long list scrolls to keep the selection visible", async () => {
		const many = dataOf([
			[
				batch(
					Array.from({ length: 40 }, (_, i) =>
						sample(
							1,
							[user("main"), user(`f${String(i).padStart(2, "0")}`)],
							40 - i,
						),
					),
				),
			],
		]);
		const app = renderApp({ data: many });
		// main (the caller of them all) comes first, so 15 down is f14.
		await app.press(KEY.tab, ...Array.from({ length: 15 }, () => KEY.down));
		assert.match(inverseLines(app.lastFrame()).at(-1) ?? "", /f14/);
		assert.doesNotMatch(app.text(), /f00/);
		await app.press(KEY.pageDown, KEY.pageDown, KEY.pageDown, KEY.pageDown);
		assert.match(inverseLines(app.lastFrame()).at(-1) ?? "", /f39/);
		assert.doesNotMatch(app.text(), /\] main/);
	});

	test("Enter on a function opens its callers and callees; Enter follows; Esc goes back", async () => {
		const app = renderApp({ data });
		const mainRow = functionNames(app.text()).indexOf("main");
		await app.press(
			KEY.tab,
			...Array.from({ length: mainRow }, () => KEY.down),
			KEY.enter,
		);
		let text = app.text();
		assert.match(
			text,
			/\[\.\] main {2}\(ratio\) {2}self 0 {2}total 95 samples/,
		);
		assert.match(
			text,
			/CALLERS[\s\S]* +95 +100\.0 \[\.\] __libc_start_main +libc\.so\.6[\s\S]*CALLEES/,
		);
		assert.match(
			text,
			/CALLEES[\s\S]* +60 +63\.2 \[\.\] hot_alpha[\s\S]* +20 +21\.1 \[\.\] hot_beta/,
		);
		assert.match(text, / +10 +10\.5 \[\.\] write +libc\.so\.6/);
		// Down past the only caller, to the first callee, and follow it.
		await app.press(KEY.down, KEY.down, KEY.down, KEY.enter);
		text = app.text();
		assert.match(
			text,
			/\[\.\] write {2}\(libc\.so\.6\) {2}self 0 {2}total 10 samples/,
		);
		assert.match(text, /CALLEES[\s\S]*\[k\] entry_SYSCALL_64/);
		await app.press("k");
		assert.match(app.text(), /CALLEES[\s\S]*\(none\)/);
		await app.press(KEY.escape);
		assert.match(app.text(), /SELF% +▼TOTAL%/);
		assert.match(app.text(), /kernel hidden/);
	});

	test("functions are sorted by total, like perf top -g; s toggles self and back, and says so", async () => {
		const app = renderApp({ data });
		const footer = () => app.text().split("\n").at(-1) ?? "";
		assert.deepEqual(functionNames(app.text()).slice(0, 3), [
			"__libc_start_main",
			"main",
			"hot_alpha",
		]);
		assert.match(app.text(), /^ +SELF% ▼TOTAL% +FUNCTION/m);
		assert.match(footer(), /s sort:total/);
		await app.press(KEY.tab, KEY.down, KEY.down, "s");
		assert.deepEqual(functionNames(app.text()).slice(0, 3), [
			"hot_alpha",
			"hot_beta",
			"do_syscall_64",
		]);
		assert.match(app.text(), /^▸ ▼SELF% +TOTAL% +FUNCTION/m);
		assert.match(footer(), /s sort:self/);
		assert.match(
			inverseLines(app.lastFrame()).at(-1) ?? "",
			/hot_alpha/,
			"the selection goes back to the top",
		);
		await app.press("s");
		assert.equal(functionNames(app.text())[0], "__libc_start_main");
		assert.match(footer(), /s sort:total/);
		await app.press("?");
		assert.match(app.text(), /s {15}sort functions by total/);
	});

	test("a caller that burns nothing itself is on screen by total, not by self", async () => {
		// ratio's hot_alpha does its work in three helpers; 40 other processes each burn a little more in one function.
		const ratio = [user("main"), user("hot_alpha")];
		const others = Array.from({ length: 40 }, (_, i) =>
			sample(1000 + i, [user(`busy_${i}`, "/usr/bin/busy")], 30, {
				comm: "busy",
				exe: "/usr/bin/busy",
			}),
		);
		const busy = dataOf([
			[
				batch([
					sample(100, [...ratio, user("step_a")], 25),
					sample(100, [...ratio, user("step_b")], 25),
					sample(100, [...ratio, user("step_c")], 25),
					sample(100, [user("main"), user("other")], 25),
					...others,
				]),
			],
		]);
		const app = renderApp({ data: busy });
		assert.match(app.text(), / +0\.0 +5\.8 \[\.\] hot_alpha +ratio/);
		await app.press("s");
		assert.doesNotMatch(app.text(), /hot_alpha/);
		await app.press("s", "p", "1", "0", "0", KEY.enter);
		// Within its process: self 0, total 75%.
		assert.match(app.text(), / +0\.0 +75\.0 \[\.\] hot_alpha +ratio/);
	});

	test("k hides and shows kernel frames", async () => {
		const app = renderApp({ data });
		await app.press("k");
		assert.doesNotMatch(app.text(), /\[k\]/);
		assert.match(app.text(), / +10\.0 +10\.0 \[\.\] write/);
		await app.press("k");
		assert.match(app.text(), /\[k\] do_syscall_64/);
	});

	test("space freezes the display while new data keeps coming; space again shows the latest", async () => {
		const app = renderApp({ data });
		await app.press(" ");
		assert.match(app.text(), /PAUSED/);
		const later = dataOf(
			[
				[
					batch([
						sample(300, [user("main"), user("fresh")], 9, { comm: "newcomer" }),
					]),
				],
			],
			data,
		);
		app.update({ data: later });
		assert.doesNotMatch(app.text(), /newcomer|fresh/);
		assert.match(app.text(), /hot_alpha/);
		await app.press(" ");
		assert.doesNotMatch(app.text(), /PAUSED/);
		assert.match(app.text(), /newcomer/);
	});

	test("z asks the command to zero, and a paused view shows the zeroed data", async () => {
		const app = renderApp({ data });
		await app.press(" ", "z");
		assert.equal(app.calls.zero, 1);
		app.update({ data: zero(data) });
		assert.match(app.text(), /\(no samples yet\)/);
		assert.match(app.text(), /PAUSED/);
	});

	test("r asks the command to start or stop recording; the header names the file", async () => {
		const app = renderApp({ data });
		await app.press("r");
		assert.equal(app.calls.toggleRecording, 1);
		app.update({
			recording: { file: "tsprof-20250101-000000.pb.gz", samples: 42 },
		});
		assert.match(
			app.text(),
			/● REC tsprof-20250101-000000\.pb\.gz \(42 samples\)/,
		);
		app.update({ notice: "wrote tsprof-20250101-000000.pb.gz (42 samples)" });
		assert.match(
			app.text().split("\n").at(-1) ?? "",
			/^wrote tsprof-20250101-000000\.pb\.gz/,
		);
	});

	test("? shows help; any key returns", async () => {
		const app = renderApp({ data });
		await app.press("?");
		assert.match(app.text(), /search functions by name/);
		assert.match(app.text(), /any key: back/);
		await app.press("q");
		assert.equal(app.calls.quit, 0, "q closes help, it does not quit");
		assert.match(app.text(), /hot_alpha/);
	});

	test("exited processes stay dimmed for a while; storms of one exe fold into one row", () => {
		const cc1 = Array.from({ length: 5 }, (_, i) => 500 + i);
		const storm = dataOf([
			[
				systemBatch(),
				batch(
					cc1.map((pid) =>
						sample(pid, [user("main", "/usr/lib/gcc/cc1")], 2, {
							comm: "cc1",
							exe: "/usr/lib/gcc/cc1",
							startNs: BigInt(pid),
						}),
					),
					[
						...cc1.map((pid) => ({ pid, startNs: BigInt(pid) })),
						{ pid: 200, startNs: 1000n },
					],
				),
			],
		]);
		const app = renderApp({ data: storm });
		assert.match(app.text(), / +- cc1 ×5 +10\.0 +10 \/usr\/lib\/gcc\/cc1/);
		const bash = (app.lastFrame() ?? "")
			.split("\n")
			.find((l) => l.includes("bash"));
		assert.ok(bash?.includes(DIM), "the exited bash is dimmed");
	});

	test("follows the terminal size on resize", async () => {
		const app = renderApp({ data });
		Object.defineProperty(app.stdout, "columns", {
			value: 70,
			configurable: true,
		});
		Object.defineProperty(app.stdout, "rows", {
			value: 14,
			configurable: true,
		});
		app.stdout.emit("resize");
		await new Promise((resolve) => setImmediate(resolve));
		const lines = app.text().split("\n");
		assert.ok(lines.length <= 13, `${lines.length} lines`);
		assert.ok(lines.every((l) => l.length <= 70));
		assert.doesNotMatch(
			app.text(),
			/deferred/,
			"the housekeeping line goes on short terminals",
		);
		Object.defineProperty(app.stdout, "rows", { value: 8, configurable: true });
		app.stdout.emit("resize");
		await new Promise((resolve) => setImmediate(resolve));
		assert.match(app.text(), /needs at least 60×12 \(this terminal is 70×8\)/);
	});
});
