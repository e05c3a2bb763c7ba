/** @jsxRuntime automatic */
/** @jsxImportSource react */
import "./force-color.js";
import { inkOutputChecks } from "./ink-output-check.js";
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { cleanup } from "ink-testing-library";
import { NO_FILTER } from "../../source/profile/top/filter.js";
import { functionTable } from "../../source/profile/top/function-table.js";
import { zero } from "../../source/profile/top/window.js";
import { batch, sample, systemBatch, user } from "./fake-source.js";
import {
	DIM,
	dataOf,
	inverseLines,
	KEY,
	plain,
	renderApp,
	settle,
} from "./helpers.js";

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
		assert.match(text, / +100 ratio +95\.0 +95 +1\.6 \/opt\/bench\/ratio/);
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

	test("long C++ names, paths and control characters are cut per column, at 160x45 and 80x24, in every mode", async () => {
		const mangled = `_ZNSt10_HashtableINSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEESt4pairIKS5_N3app5ValueEESaIS9_ENSt8__detail10_Select1stESt8equal_toIS5_ESt4hashIS5_ENSB_18_Mod_range_hashingENSB_20_Default_ranged_hashENSB_20_Prime_rehash_policyENSB_17_Hashtable_traitsILb1ELb0ELb1EEEE19_M_find_before_nodeEmRS7_m`;
		const demangled = `std::_Hashtable<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const, app::Value>, std::allocator<std::pair<std::__cxx11::basic_string<char> const, app::Value> > >::_M_find_before_node(unsigned long, std::__cxx11::basic_string<char> const&, unsigned long) const`;
		assert.ok(mangled.length > 200 && demangled.length > 300);
		const lib = `/opt/${"very-long-directory-name/".repeat(8)}libapp.so.1`;
		const exe = `/opt/${"deeply/nested/".repeat(12)}server`;
		const stack = (i: number) => [
			user("main", exe),
			user(`${demangled}#${i}`, lib),
			user(`${mangled}${i}`, lib),
			user("evil\nname\u001B[31m\r\t", lib),
		];
		const long = dataOf([
			[
				batch(
					Array.from({ length: 30 }, (_, i) =>
						sample(100 + i, stack(i), 30 - i, {
							comm: "a-very-long-comm-name\nx",
							exe,
						}),
					),
				),
			],
		]);
		for (const [columns, rows] of [
			[160, 45],
			[80, 24],
		] as const) {
			const app = renderApp({ data: long });
			Object.defineProperty(app.stdout, "columns", {
				value: columns,
				configurable: true,
			});
			Object.defineProperty(app.stdout, "rows", {
				value: rows,
				configurable: true,
			});
			app.stdout.emit("resize");
			await settle();
			const check = (what: string) => {
				const lines = plain(app.lastFrame()).split("\n");
				assert.ok(
					lines.length <= rows - 1,
					`${columns}x${rows} ${what}: ${lines.length} lines`,
				);
				for (const line of lines) {
					assert.ok(
						line.length <= columns,
						`${columns}x${rows} ${what}: a line of ${line.length} columns: ${line}`,
					);
					assert.ok(
						[...line].every((c) => c >= " "),
						`${what}: a control character in ${line}`,
					);
				}
				return lines;
			};
			const lines = check("processes");
			assert.ok(lines.some((l) => l.includes("[.] std::_Hashtable<")));
			assert.ok(lines.some((l) => l.includes("[.] _ZNSt10_Hashtable")));
			assert.ok(lines.some((l) => l.includes("evil?name?[31m??")));
			assert.ok(lines.some((l) => /a-very-long-com… +\d/.test(l)));
			// The module column stays where the header says, whatever the name's length.
			const header = lines.find((l) => l.includes("FUNCTION")) ?? "";
			const at = header.indexOf("MODULE");
			for (const line of lines.filter((l) => l.includes("[.] _ZN")))
				assert.equal(line.slice(at, at + 6), "libapp", line);
			await app.press(KEY.tab);
			check("functions");
			await app.press(KEY.down, "s");
			check("sorted by self");
			await app.press("/", "x".repeat(200));
			check("search prompt");
			await app.press(KEY.escape, "p", "1".repeat(200));
			check("pid prompt");
			await app.press(KEY.enter);
			check("pid prompt message");
			await app.press(KEY.escape, "?");
			check("help");
			await app.press("?", KEY.down, KEY.enter);
			assert.match(app.text(), /CALLERS/);
			check("call graph");
			await app.press(KEY.down, KEY.enter);
			check("call graph followed");
			await app.press("k");
			check("call graph, kernel hidden");
			app.unmount();
		}
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

	test("a list of hundreds of functions is in order wherever the cursor goes (only what it reaches is sorted)", async () => {
		const names = Array.from(
			{ length: 400 },
			(_, i) => `g${String(i).padStart(3, "0")}`,
		);
		const many = dataOf([
			[
				batch(
					names.map((name, i) =>
						// Counts 1..9 in shuffled order, so most rows tie and go by name.
						sample(1, [user("main"), user(name)], 1 + ((i * 7) % 9)),
					),
				),
			],
		]);
		const order = functionTable(many, NO_FILTER).rows.map((r) => r.name);
		const app = renderApp({ data: many });
		const shown = () => {
			const visible = functionNames(app.text());
			return { at: order.indexOf(visible[0] ?? ""), visible };
		};
		await app.press(KEY.tab);
		const moves = [
			[],
			[KEY.pageDown],
			[KEY.pageDown, KEY.pageDown],
			["\u001B[F"],
			[KEY.pageUp],
		];
		for (const keys of moves) {
			await app.press(...keys);
			const { at, visible } = shown();
			assert.ok(at >= 0);
			assert.deepEqual(visible, order.slice(at, at + visible.length));
		}
		// End reached the last row: the smallest count, last name.
		await app.press("\u001B[F");
		assert.match(
			inverseLines(app.lastFrame()).at(-1) ?? "",
			new RegExp(`${order.at(-1)}\\b`),
		);
		await app.press("s");
		assert.equal(
			functionNames(app.text())[0],
			functionTable(many, NO_FILTER, "self").rows[0]?.name,
		);
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

	test("? shows help; the arrows scroll it to the unknown frames' reasons; any other key returns", async () => {
		const app = renderApp({ data, size: { columns: 80, rows: 24 } });
		await app.press("?");
		assert.match(app.text(), /search functions by name/);
		assert.match(app.text(), /any other key: back/);
		assert.doesNotMatch(app.text(), /stack truncated:/, "80x24 shows the keys first");
		await app.press(KEY.pageDown, KEY.pageDown);
		assert.match(app.text(), /Unknown frames/);
		assert.match(app.text(), /stack truncated: the walk stopped early/);
		assert.doesNotMatch(app.text(), /more lines/, "the end of the help");
		await app.press(KEY.up);
		assert.match(app.text(), /more lines/);
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
		assert.match(app.text(), / +- cc1 ×5 +10\.0 +10 +0\.0 \/usr\/lib\/gcc\/cc1/);
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

test("every frame above was drawn the same by the fast Ink output as by Ink's own", () => {
	assert.ok(inkOutputChecks.fast > 10, `fast frames ${inkOutputChecks.fast}`);
	assert.deepEqual(inkOutputChecks.mismatches.slice(0, 1), []);
});
