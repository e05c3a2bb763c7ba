#!/usr/bin/env node
// Cost of `tsprof top`'s model (and optionally its Ink view) on a realistic
// synthetic stream, without a kernel.
//
// Usage: node --import tsx bench/top-model.mjs [--seconds 60] [--runs 5]
//          [--ink [--size 160x45] [--gap MS] [--ink-output]] [--root DIR]
//
// The stream: 99 Hz on 2 busy CPUs (≈200 samples/s), drained every 250 ms.
// Two hot processes burn both CPUs in a handful of stacks; ~48 background
// processes take the odd sample with stacks drawn from a pool of ~2000
// frames (depth 10–30, C++ names of 200+ characters among them); from
// t=20 s to t=30 s a storm of short-lived compilers starts and exits
// 100 processes a second. Batches are aggregated per (pid, tid, stack) as the
// kernel's counts map delivers them, and Frames are shared objects as the
// symbolizer hands them out.
//
// Each refresh (1 s of simulated time) does what top does: take + advance,
// then the rows of the view (process list, function table, search, the
// visible lines' text), unfiltered, with a pid filter and with kernel
// frames hidden. Prints the median ms per refresh and per batch, and the
// share of one core that adds up to. `--ink` also renders the App (at
// `--size`, 160x45 by default) into a fake terminal once per refresh and
// times its CPU; frames are `--gap` ms apart (40 by default, past Ink's 30 fps
// throttle; `--gap 1000` paces them like a live top, whose caches are cold by
// the next frame, and costs more per frame). `--ink-output` draws with Ink's
// own Output.get instead of tsprof's (source/ui/ink-output.ts). Run it with NODE_ENV=production,
// as `tsprof top` runs React.
// `--root DIR` benchmarks another checkout's source/ (for before/after); run
// it from DIR, whose tsconfig.json tsx needs for the JSX of the App.
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { rng } from "./stats.mjs";

const { values: args } = parseArgs({
	options: {
		seconds: { type: "string", default: "60" },
		runs: { type: "string", default: "5" },
		ink: { type: "boolean", default: false },
		// Draw with Ink's own Output.get, for before/after.
		"ink-output": { type: "boolean", default: false },
		size: { type: "string", default: "160x45" },
		gap: { type: "string", default: "40" },
		root: { type: "string", default: new URL("..", import.meta.url).pathname },
	},
});
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const root = resolve(args.root);
const load = (path) => import(pathToFileURL(resolve(root, path)).href);

const TOP_MODULES = ["interval", "window", "process-rows", "function-table", "snapshot"];
/** The live-view model as one object; a --root from before the split has it in one file. */
async function loadModel() {
	if (existsSync(resolve(root, "source/profile/top-model.ts")))
		return load("source/profile/top-model.ts");
	const parts = await Promise.all(TOP_MODULES.map((m) => load(`source/profile/top/${m}.ts`)));
	return Object.assign({}, ...parts);
}
const model = await loadModel();
const format = await load(
	existsSync(resolve(root, "source/ui/top-format.ts")) ? "source/ui/top-format.ts" : "source/profile/top-format.ts",
);

const HZ = 99;
const DRAIN_MS = 250;
const REFRESH_MS = 1000;
const VISIBLE_FUNCTIONS = 36;
const VISIBLE_PROCESSES = 20;
const [WIDTH, HEIGHT] = args.size.split("x").map(Number);

function buildWorld(random) {
	const pick = (items) => items[Math.floor(random() * items.length)];
	const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
	const modules = [
		"/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
		"/usr/lib/x86_64-linux-gnu/libm.so.6",
		"/usr/lib/x86_64-linux-gnu/libz.so.1",
		"/usr/lib/x86_64-linux-gnu/libssl.so.3",
		"/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
		"/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0",
		"/usr/lib/systemd/systemd",
		"/usr/sbin/sshd",
		"/usr/bin/bash",
		"/usr/bin/python3.11",
		"/usr/bin/node",
		"/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus",
		"/opt/bench/ratio",
		"/opt/app/server",
	];
	const kernelFrames = Array.from({ length: 400 }, (_, i) => ({
		name: `kfunc_${i}_${["do_syscall", "tick", "irq", "sched", "vfs", "tcp"][i % 6]}`,
		module: "[kernel]",
		kernel: true,
	}));
	const userFrames = Array.from({ length: 1600 }, (_, i) => {
		const module = modules[i % modules.length];
		const cpp = i % 7 === 0;
		const name = cpp
			? `std::_Hashtable<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const, app::Value${i}>, std::allocator<std::pair<...> > >::_M_find_before_node(unsigned long, key_type const&, unsigned long) const`
			: i % 50 === 1
				? `[unknown] 0x7f${(i * 4096).toString(16)} (no symbols)`
				: `func_${i}_${module.slice(module.lastIndexOf("/") + 1)}`;
		return { name, module, kernel: false };
	});
	const hotAlpha = {
		name: "hot_alpha",
		module: "/opt/bench/ratio",
		kernel: false,
	};
	const hotBeta = {
		name: "hot_beta",
		module: "/opt/bench/ratio",
		kernel: false,
	};

	/** A stack, innermost first: user frames from the pool, sometimes a kernel tail. */
	const randomStack = (depth = int(10, 30)) => {
		const user = Array.from({ length: depth }, () => pick(userFrames));
		if (random() < 0.3) {
			const k = Array.from({ length: int(3, 8) }, () => pick(kernelFrames));
			return [...k, ...user];
		}
		return user;
	};
	const hotStacks = (base) => [
		[hotAlpha, ...base],
		[hotBeta, hotAlpha, ...base],
		[pick(userFrames), hotAlpha, ...base],
		[...randomStack(4).filter((f) => f.kernel), pick(userFrames), ...base],
		[pick(userFrames), pick(userFrames), ...base],
	];
	const ratioBase = () => [
		...Array.from({ length: int(8, 20) }, () => pick(userFrames)),
		{ name: "main", module: "/opt/bench/ratio", kernel: false },
		{ name: "__libc_start_main", module: modules[0], kernel: false },
	];
	const hot = [1000, 1001].map((pid) => ({
		pid,
		startNs: BigInt(pid) * 1_000_000n,
		comm: "ratio",
		exe: "/opt/bench/ratio",
		stacks: hotStacks(ratioBase()),
		weights: [0.6, 0.15, 0.1, 0.1, 0.05],
	}));
	const background = Array.from({ length: 48 }, (_, i) => ({
		pid: 2000 + i,
		startNs: BigInt(2000 + i) * 1_000_000n,
		comm: `daemon${i}`,
		exe: modules[(i * 3) % modules.length],
		stacks: Array.from({ length: int(3, 30) }, () => randomStack()),
	}));
	return { hot, background, randomStack, pick, int };
}

/** Batches of one run: every DRAIN_MS, aggregated per (pid, tid, stack). */
function* stream(seed) {
	const random = rng(seed);
	const world = buildWorld(random);
	const { hot, background, randomStack, pick } = world;
	let stormPid = 30_000;
	const live = [];
	for (let t = DRAIN_MS; t <= SECONDS * 1000; t += DRAIN_MS) {
		const counts = new Map();
		const add = (proc, tid, stackIndex, frames) => {
			const key = `${proc.pid}/${tid}/${stackIndex}`;
			const known = counts.get(key);
			if (known) known.value++;
			else
				counts.set(key, {
					pid: proc.pid,
					tid,
					startNs: proc.startNs,
					comm: proc.comm,
					exe: proc.exe,
					frames: [...frames],
					value: 1,
				});
		};
		const exited = [];
		const ticks = Math.round((HZ * DRAIN_MS) / 1000);
		for (let cpu = 0; cpu < 2; cpu++) {
			for (let i = 0; i < ticks; i++) {
				const r = random();
				if (r < 0.9) {
					const proc = hot[cpu];
					let x = random();
					let s = 0;
					while (s < proc.weights.length - 1 && x > proc.weights[s])
						x -= proc.weights[s++];
					add(proc, proc.pid + (i % 2), s, proc.stacks[s]);
				} else if (t > 20_000 && t <= 30_000 && r < 0.97) {
					// The storm: a compiler that lives for one drain.
					const pid = stormPid++;
					const proc = {
						pid,
						startNs: BigInt(t) * 1_000_000n + BigInt(pid),
						comm: "cc1plus",
						exe: "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus",
					};
					add(proc, pid, 0, randomStack(world.int(10, 20)));
					live.push(proc);
				} else {
					const proc = pick(background);
					const s = Math.floor(random() * proc.stacks.length);
					add(proc, proc.pid, s, proc.stacks[s]);
				}
			}
		}
		while (live.length > 0) {
			const proc = live.pop();
			exited.push({ pid: proc.pid, startNs: proc.startNs });
		}
		yield {
			timeMs: t,
			batch: { samples: [...counts.values()], exited, timeMs: t },
		};
	}
}

const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
};
const p95 = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length === 0
		? 0
		: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))];
};

/** What the view derives once a refresh, for one filter, as the App does. */
function view(data, filter, sort, cache) {
	const processes = model.processRows(data, filter.pids);
	// The App orders only the rows the cursor can reach (a page or two);
	// a checkout without functionCounts sorts them all.
	const functions = model.functionCounts
		? model.sortFunctions(
				model.searchFunctions(
					model.functionCounts(data, filter).rows,
					filter.search,
				),
				sort,
				3 * VISIBLE_FUNCTIONS,
			)
		: model.searchFunctions(
				model.functionTable(data, filter, sort).rows,
				filter.search,
			);
	let chars = 0;
	for (const row of processes.slice(0, VISIBLE_PROCESSES))
		chars += format.processLine(row, WIDTH).length;
	for (const row of functions.slice(0, VISIBLE_FUNCTIONS))
		chars += format.functionLine(row, WIDTH).length;
	cache.chars = chars;
	return functions;
}

const FILTERS = {
	all: { pids: [], hideKernel: false, search: "" },
	pid: { pids: [1000], hideKernel: false, search: "" },
	user: { pids: [], hideKernel: true, search: "" },
};

async function inkRenderer() {
	const React = await import("react");
	const { render } = await import("ink");
	const { App } = await load("source/ui/App.tsx");
	// As `tsprof top` draws, unless the checkout predates the fast output.
	const fast = await load("source/ui/ink-output.ts").catch(() => undefined);
	if (!args["ink-output"]) await fast?.installFastOutput();
	const stdout = Object.assign(new EventEmitter(), {
		isTTY: true,
		columns: WIDTH,
		rows: HEIGHT,
		bytes: 0,
		last: "",
		write(chunk) {
			this.bytes += chunk.length;
			if (chunk.length > 100) this.last = chunk;
			return true;
		},
	});
	const stats = {
		frequencyHz: HZ,
		cpus: 2,
		samples: 0,
		lostSamples: 0,
		processesSeen: 50,
		deferredProcesses: 0,
		mapCleanup: { batchDeletes: 0, fallbackDeletes: 0, failures: 0 },
	};
	const element = (data) =>
		React.createElement(App, {
			data,
			stats,
			selfCpuPercent: 0.5,
			selfRssBytes: 80 << 20,
			pidExists: () => true,
			onQuit() {},
			onZero() {},
			onToggleRecording() {},
			keys: false,
		});
	let instance;
	return {
		stdout,
		draw(data) {
			if (instance) instance.rerender(element(data));
			else
				instance = render(element(data), {
					// A stand-in with what Ink reads of a terminal.
					stdout: /** @type {NodeJS.WriteStream} */ (/** @type {unknown} */ (stdout)),
					patchConsole: false,
					exitOnCtrlC: false,
				});
			// An error screen is cheap to draw: make sure the numbers are the App's.
			if (!stdout.last.includes("FUNCTION"))
				throw new Error(`the App did not draw:\n${stdout.last}`);
		},
		unmount() {
			instance?.unmount();
		},
	};
}

async function run(seed, ink) {
	const config = { ...model.DEFAULT_CONFIG, frequencyHz: HZ };
	let data = model.emptyTopData(config);
	const acc = new model.IntervalAccumulator(0);
	const batchMs = [];
	const refreshMs = { all: [], pid: [], user: [], ink: [] };
	const cache = {};
	let samples = 0;
	let nextRefresh = REFRESH_MS;
	for (const { timeMs, batch } of stream(seed)) {
		for (const s of batch.samples) samples += s.value;
		let t0 = performance.now();
		acc.add(batch);
		batchMs.push(performance.now() - t0);
		if (timeMs < nextRefresh) continue;
		nextRefresh += REFRESH_MS;
		t0 = performance.now();
		data = model.advance(data, acc.take(timeMs));
		view(data, FILTERS.all, "total", cache);
		refreshMs.all.push(performance.now() - t0);
		// The other filters are what a key press costs, not every refresh; timed apart.
		for (const name of ["pid", "user"]) {
			t0 = performance.now();
			view(data, FILTERS[name], "total", cache);
			refreshMs[name].push(performance.now() - t0);
		}
		if (ink) {
			// Past Ink's 30 fps throttle, so the frame is drawn now, not on a timer.
			await new Promise((r) =>
				setTimeout(r, Number(args.gap)),
			);
			// CPU time rather than wall time: a busy machine stretches the wall clock.
			const cpu0 = process.cpuUsage();
			ink.draw(data);
			const cpu = process.cpuUsage(cpu0);
			refreshMs.ink.push((cpu.user + cpu.system) / 1000);
		}
	}
	return { batchMs, refreshMs, samples, data };
}

/** The parts of a refresh, timed on the last window of a run. */
function parts(data) {
	const time = (f, n = 100) => {
		for (let i = 0; i < 10; i++) f();
		const t = performance.now();
		for (let i = 0; i < n; i++) f();
		return (performance.now() - t) / n;
	};
	const rows = model.functionTable(data, FILTERS.all).rows.length;
	return {
		rows,
		processes: model.processRows(data, []).length,
		total: time(() => model.functionTable(data, FILTERS.all, "total")),
		self: time(() => model.functionTable(data, FILTERS.all, "self")),
		processRows: time(() => model.processRows(data, [])),
	};
}

const results = [];
for (let i = 0; i < RUNS; i++) {
	const ink = args.ink ? await inkRenderer() : undefined;
	results.push(await run(1234 + i, ink));
	ink?.unmount();
}
// The first run warms the JIT up; the rest are measured (a live top runs for minutes).
const measured = results.length > 1 ? results.slice(1) : results;
const all = (pick) => measured.flatMap(pick);
const batches = all((r) => r.batchMs);
const refresh = all((r) => r.refreshMs.all);
const perSecond = (SECONDS * 1000) / DRAIN_MS / SECONDS;
const f = (x) => x.toFixed(3);
console.log(`tsprof top model bench: ${root}`);
console.log(
	`  stream: ${SECONDS} s, ${Math.round(measured[0].samples / SECONDS)} samples/s, batches every ${DRAIN_MS} ms, ${RUNS} runs (first one is warm-up)`,
);
console.log(
	`  per batch   (accumulator.add):           median ${f(median(batches))} ms  p95 ${f(p95(batches))} ms`,
);
console.log(
	`  per refresh (take+advance+rows, all):    median ${f(median(refresh))} ms  p95 ${f(p95(refresh))} ms`,
);
console.log(
	`  per refresh, pid filter:                 median ${f(median(all((r) => r.refreshMs.pid)))} ms`,
);
console.log(
	`  per refresh, kernel hidden:              median ${f(median(all((r) => r.refreshMs.user)))} ms`,
);
const last = parts(measured.at(-1).data);
console.log(
	`  last window: ${last.rows} functions, ${last.processes} process rows; functionTable ${f(last.total)} ms (by self ${f(last.self)} ms), processRows ${f(last.processRows)} ms`,
);
const ink = all((r) => r.refreshMs.ink);
if (ink.length > 0)
	console.log(
		`  per refresh, Ink App render ${args.size} (CPU): median ${f(median(ink))} ms  p95 ${f(p95(ink))} ms`,
	);
const costMs =
	median(batches) * perSecond +
	median(refresh) +
	(ink.length > 0 ? median(ink) : 0);
console.log(
	`  ≈ ${f(costMs)} ms of CPU per second = ${((costMs / 1000) * 100).toFixed(3)}% of one core (model${ink.length > 0 ? " + Ink" : ""} only)`,
);
