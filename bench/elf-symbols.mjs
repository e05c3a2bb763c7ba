#!/usr/bin/env node
// Time and memory of readElfFile() on large real binaries.
//
// Usage: node scripts/build.mjs ts
//        node --expose-gc bench/elf-symbols.mjs [--runs 7] [--root DIR] [--no-digest] [FILE...]
//
// Without FILEs it loads /usr/bin/node and the libc debug file (found through
// libc's build-id under /usr/lib/debug/.build-id), or libc itself when there
// is no debug file. Each file gets a fresh child process (with --expose-gc)
// that imports DIR/dist/symbols/elf-reader.js and then:
//   - first:    times the first load in that process (cold JIT, as in the
//               first drain of `tsprof top`);
//   - retained: heapUsed and external (Buffers, typed arrays) after a full GC
//               with that first image still referenced, minus the same before
//               it;
//   - RSS:      before the first load, its peak through the first load (what
//               `tsprof top` pays), after it and a GC, and the peak after all
//               loads (garbage from the repeated loads included);
//   - median:   the median of --runs further loads (warm page cache and JIT),
//               in wall time and in CPU time of the whole process (which
//               includes V8's compiler threads, but not time lost to other
//               processes on a busy machine);
//   - digest:   a hash of every stored symbol (name, start, end) and of the
//               lookups at start - 1, start, the middle, end - 1 and end of
//               each, so that two versions can be checked to resolve alike.
//
// `--root DIR` benchmarks another checkout or a copy of dist/ (for before and
// after figures): DIR/dist/symbols/elf-reader.js is what gets imported.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { median, mib } from "./stats.mjs";

const { values: args, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		runs: { type: "string", default: "7" },
		root: { type: "string", default: fileURLToPath(new URL("..", import.meta.url)) },
		child: { type: "boolean", default: false },
		"no-digest": { type: "boolean", default: false },
	},
});
const root = resolve(args.root);
const modulePath = resolve(root, "dist/symbols/elf-reader.js");


if (args.child) {
	if (typeof globalThis.gc !== "function") throw new Error("child needs --expose-gc");
	const gc = () => {
		for (let i = 0; i < 3; i++) globalThis.gc();
	};
	const [file] = positionals;
	const { readElfFile } = await import(pathToFileURL(modulePath).href);
	gc();
	const before = process.memoryUsage();
	const t0 = performance.now();
	const image = readElfFile(file);
	const first = performance.now() - t0;
	const peakAfterFirst = process.resourceUsage().maxRSS * 1024;
	gc();
	const after = process.memoryUsage();
	const runs = [];
	const cpu = [];
	for (let i = 0; i < Number(args.runs); i++) {
		const startCpu = process.cpuUsage();
		const start = performance.now();
		readElfFile(file);
		runs.push(performance.now() - start);
		const used = process.cpuUsage(startCpu);
		cpu.push((used.user + used.system) / 1000);
	}
	const result = {
		file,
		symbols: image.symbols.size,
		skipped: image.skippedSymbols,
		first,
		runs,
		cpu,
		heap: after.heapUsed - before.heapUsed,
		external: after.external - before.external,
		rssBefore: before.rss,
		peakAfterFirst,
		rssAfter: after.rss,
		peakRss: process.resourceUsage().maxRSS * 1024,
	};
	if (!args["no-digest"]) {
		const t1 = performance.now();
		const hash = createHash("sha256");
		const line = (at) => {
			const hit = image.symbols.lookup(at);
			return hit ? `${at} ${hit.name} ${hit.offset}\n` : `${at} -\n`;
		};
		let lookups = 0;
		for (const { name, start, end } of image.symbols) {
			hash.update(`${name} ${start} ${end}\n`);
			for (const at of [start - 1, start, Math.floor((start + end) / 2), end - 1, end]) {
				hash.update(line(at));
				lookups++;
			}
		}
		result.digest = `${hash.digest("hex").slice(0, 16)} over ${result.symbols} symbols, ${lookups} lookups`;
		result.digestMs = performance.now() - t1;
		result.rssEnd = process.memoryUsage().rss;
	}
	process.stdout.write(JSON.stringify(result));
	process.exit(0);
}

function libcFile() {
	const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	try {
		const id = /Build ID: ([0-9a-f]+)/.exec(execFileSync("readelf", ["-n", libc], { encoding: "utf8" }))?.[1];
		if (id !== undefined) {
			const debug = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
			if (existsSync(debug)) return debug;
		}
	} catch {
		// No readelf: fall back to the stripped libc.
	}
	return libc;
}

const files = positionals.length > 0 ? positionals : ["/usr/bin/node", libcFile()];
console.log(`module: ${modulePath}`);
for (const file of files) {
	const r = spawnSync(
		process.execPath,
		[
			"--expose-gc",
			fileURLToPath(import.meta.url),
			"--child",
			"--root",
			root,
			"--runs",
			args.runs,
			...(args["no-digest"] ? ["--no-digest"] : []),
			file,
		],
		{ encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
	);
	if (r.status !== 0) {
		console.error(`child for ${file} exited with ${r.status ?? r.signal}`);
		process.exit(1);
	}
	const result = JSON.parse(r.stdout);
	console.log(`\n${file}: ${result.symbols} symbols (${result.skipped} skipped)`);
	console.log(
		`  load:     ${median(result.runs).toFixed(1)} ms median of ${result.runs.length} (${result.runs
			.map((ms) => ms.toFixed(0))
			.join(", ")}); first load in the process ${result.first.toFixed(1)} ms`,
	);
	console.log(`  cpu:      ${median(result.cpu).toFixed(1)} ms median of the same loads, CPU time of all threads`);
	console.log(
		`  retained: ${mib(result.heap + result.external)} (heap ${mib(result.heap)}, external ${mib(result.external)})`,
	);
	console.log(
		`  RSS:      ${mib(result.rssBefore)} before, peak ${mib(result.peakAfterFirst)} through the first load, ${mib(result.rssAfter)} after it and GC; peak ${mib(result.peakRss)} after all ${result.runs.length + 1} loads`,
	);
	if (result.digest) {
		console.log(`  lookups:  ${result.digest} (${result.digestMs.toFixed(0)} ms; RSS ${mib(result.rssEnd)} after)`);
	}
}
