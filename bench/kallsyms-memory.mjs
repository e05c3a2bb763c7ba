#!/usr/bin/env node
// Time and memory of loadKallsyms() on this machine's /proc/kallsyms.
//
// Usage: node --expose-gc bench/kallsyms-memory.mjs [--runs 5] [--path /proc/kallsyms]
//                                                    [--root DIR] [--dist]
//
// tsprof loads kallsyms once per process, so each run is a fresh child
// process (started with --expose-gc, and --import tsx for the .ts source)
// that imports the module, collects garbage, and loads the table once:
//   - load time: that cold load, median over the runs; plus the median of
//     5 further (warm) loads in the first child;
//   - retained: heapUsed and external (which includes ArrayBuffers and
//     Buffers) after a full GC, minus the same before the load, with the
//     table still referenced;
//   - peak RSS delta: the process's peak RSS (getrusage maxrss) after the
//     load minus its RSS just before it. If start-up had already peaked
//     higher, this overstates the load's share, never understates it.
// The first child also prints a digest of lookups at every text address
// in the file (and 1 byte before and 7 bytes after it), so that two
// versions can be checked to resolve alike.
//
// `--root DIR` benchmarks another checkout (for before/after); `--dist`
// loads DIR/dist/symbols/kallsyms.js (after `node scripts/build.mjs ts`)
// instead of DIR/source/symbols/kallsyms.ts.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { median, mib } from "./stats.mjs";

const { values: args } = parseArgs({
	options: {
		runs: { type: "string", default: "5" },
		path: { type: "string", default: "/proc/kallsyms" },
		root: { type: "string", default: fileURLToPath(new URL("..", import.meta.url)) },
		dist: { type: "boolean", default: false },
		child: { type: "boolean", default: false },
		warm: { type: "string", default: "0" },
		digest: { type: "boolean", default: false },
	},
});
const root = resolve(args.root);
const modulePath = resolve(root, args.dist ? "dist/symbols/kallsyms.js" : "source/symbols/kallsyms.ts");


if (args.child) {
	if (typeof globalThis.gc !== "function") throw new Error("child needs --expose-gc");
	const gc = () => {
		for (let i = 0; i < 3; i++) globalThis.gc();
	};
	const { loadKallsyms } = await import(pathToFileURL(modulePath).href);
	gc();
	const before = process.memoryUsage();
	const t0 = performance.now();
	const table = loadKallsyms(args.path);
	const ms = performance.now() - t0;
	const peakRss = process.resourceUsage().maxRSS * 1024;
	gc();
	const after = process.memoryUsage();
	const result = {
		ms,
		size: table.size,
		unavailableReason: table.unavailableReason,
		rssBefore: before.rss,
		rssAfter: after.rss,
		peakRss,
		heap: after.heapUsed - before.heapUsed,
		external: after.external - before.external,
		arrayBuffers: after.arrayBuffers - before.arrayBuffers,
		warm: [],
	};
	for (let i = 0; i < Number(args.warm); i++) {
		const start = performance.now();
		loadKallsyms(args.path);
		result.warm.push(performance.now() - start);
	}
	if (args.digest) {
		const hash = createHash("sha256");
		let lookups = 0;
		for (const line of readFileSync(args.path, "utf8").split("\n")) {
			const address = /^([0-9a-fA-F]{1,16})\s/.exec(line)?.[1];
			if (!address) continue;
			const addr = BigInt(`0x${address}`);
			for (const at of [addr - 1n, addr, addr + 7n]) {
				const hit = table.lookup(at);
				hash.update(hit ? `${at} ${hit.name} ${hit.module ?? ""} ${hit.offset}\n` : `${at} -\n`);
				lookups++;
			}
		}
		result.digest = `${hash.digest("hex").slice(0, 16)} over ${lookups} lookups`;
	}
	process.stdout.write(JSON.stringify(result));
	process.exit(0);
}

const runs = Math.max(1, Number(args.runs));
const execArgv = ["--expose-gc"];
if (modulePath.endsWith(".ts")) execArgv.push("--import", "tsx");
const results = [];
for (let i = 0; i < runs; i++) {
	const childArgs = [
		...execArgv,
		fileURLToPath(import.meta.url),
		"--child",
		"--root",
		root,
		"--path",
		args.path,
		...(args.dist ? ["--dist"] : []),
		...(i === 0 ? ["--warm", "5", "--digest"] : []),
	];
	// cwd: the repository, so that --import tsx resolves whatever --root is.
	const r = spawnSync(process.execPath, childArgs, {
		cwd: fileURLToPath(new URL("..", import.meta.url)),
		encoding: "utf8",
		stdio: ["ignore", "pipe", "inherit"],
	});
	if (r.status !== 0) {
		console.error(`child exited with ${r.status ?? r.signal}`);
		process.exit(1);
	}
	results.push(JSON.parse(r.stdout));
}

const first = results[0];
const pick = (key) => results.map((r) => r[key]);
console.log(`module:   ${modulePath}`);
console.log(`file:     ${args.path}: ${first.size} symbols${first.unavailableReason ? ` (${first.unavailableReason})` : ""}`);
console.log(
	`load:     ${median(pick("ms")).toFixed(1)} ms cold (median of ${runs} processes: ${pick("ms")
		.map((ms) => ms.toFixed(0))
		.join(", ")}), ${median(first.warm).toFixed(1)} ms warm (median of ${first.warm.length})`,
);
const heap = median(pick("heap"));
const external = median(pick("external"));
console.log(
	`retained: ${mib(heap + external)} (heap ${mib(heap)}, external ${mib(external)} of which ArrayBuffers ${mib(median(pick("arrayBuffers")))})`,
);
const peakDeltas = results.map((r) => r.peakRss - r.rssBefore);
console.log(
	`RSS:      peak +${mib(median(peakDeltas))} (max +${mib(Math.max(...peakDeltas))}) over ${mib(median(pick("rssBefore")))} before; ${mib(median(pick("rssAfter")))} after GC`,
);
if (first.digest) console.log(`lookups:  ${first.digest}`);
