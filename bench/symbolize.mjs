#!/usr/bin/env node
// Figure 6: symbolization throughput, cold and warm, against libc and the
// node binary, beside binutils `addr2line -f` and elfutils `eu-addr2line -f`
// on the same addresses (spread at random, with a fixed seed, over the
// file's executable segments).
//   tsprof (source/symbols/symbolizer.ts through tsx, in a fresh process
//   per run): cold = a new Symbolizer naming every address (reading the ELF
//   file and its build-id debug file included, the start of node and of the
//   module not); warm = the same Symbolizer naming them again through new
//   mapping objects (files parsed, no frame cached), median of 20 passes.
//   Peers: cold = the whole process for all addresses; warm = the time per
//   address beyond a run on a tenth of them (both read the same debug files
//   by build-id, and also find each address's source line, which tsprof
//   does not).
//
// Usage: node bench/symbolize.mjs [--runs 3] [--count 2000] [FILE...]   (after npm install;
//        BENCH_QUICK=1 for a short check that it runs)
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { rng } from "./stats.mjs";

const { values: args, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		runs: { type: "string" },
		count: { type: "string" },
		child: { type: "boolean", default: false },
		addresses: { type: "string" },
	},
});

/** Untimed passes before the warm ones, so that V8 has compiled the lookup path. */
const WARMUP_PASSES = 10;
/** Timed warm passes per run; their median is the figure, so a pass that meets a GC cycle does not decide it. */
const WARM_PASSES = 40;

if (args.child) {
	// In a fresh process: `--addresses FILE` holds "vaddr fileOffset" lines (hex).
	const [file] = positionals;
	const root = fileURLToPath(new URL("..", import.meta.url));
	const { Symbolizer } = await import(`${root}source/symbols/symbolizer.ts`);
	const { Image } = await import(`${root}source/process/image.ts`);
	const { readFileSync, statSync } = await import("node:fs");
	const offsets = readFileSync(args.addresses, "utf8")
		.trim()
		.split("\n")
		.map((line) => BigInt(`0x${line.split(" ")[1]}`));
	const BASE = 0x7f0000000000n;
	const size = BigInt(statSync(file).size);
	const image = () => {
		const i = new Image();
		i.add({ start: BASE, end: BASE + size + 0x1000n, pgoff: 0n, path: file, fileKey: `bench:${file}` });
		return i;
	};
	const pass = (symbolizer) => {
		const img = image();
		let named = 0;
		const t0 = performance.now();
		for (const offset of offsets) if (!symbolizer.userFrame(process.pid, img, BASE + offset, false).name.startsWith("[unknown]")) named++;
		return { ms: performance.now() - t0, named };
	};
	const symbolizer = new Symbolizer();
	const cold = pass(symbolizer);
	for (let i = 0; i < WARMUP_PASSES; i++) pass(symbolizer);
	const warm = Array.from({ length: WARM_PASSES }, () => pass(symbolizer).ms);
	process.stdout.write(JSON.stringify({ coldMs: cold.ms, warmMs: warm, named: cold.named }));
	process.exit(0);
}

const { emit, fmt, median, missing, pick, say, tempDir, timed } = await import("./lib.mjs");
const runs = Number(args.runs ?? pick(3, 1));
const count = Number(args.count ?? pick(2000, 500));
const small = Math.round(count / 10);
const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const files = positionals.length > 0 ? positionals : [libc, process.execPath];
const TARGET = 1e6;
const peers = ["addr2line", "eu-addr2line"].filter((p) => !missing(p));
const dir = tempDir();

/** Executable PT_LOAD segments, from readelf. */
function textSegments(file) {
	const out = execFileSync("readelf", ["-lW", file], { encoding: "utf8" });
	return out
		.split("\n")
		.filter((l) => /^\s*LOAD\s/.test(l) && /\sR?\s?E\s+0x/.test(l))
		.map((l) => {
			const [, offset, vaddr, , filesz] = l.trim().split(/\s+/);
			return { offset: Number(offset), vaddr: Number(vaddr), filesz: Number(filesz) };
		});
}

/** Names per address from `-f` output (function line, then file:line). */
const namedBy = (stdout) => stdout.split("\n").filter((l, i) => i % 2 === 0 && l && l !== "??").length;

const rows = [];
const targets = [];
const notes = peers.length < 2 ? ["addr2line", "eu-addr2line"].map(missing).filter(Boolean) : [];
for (const file of files) {
	const segments = textSegments(file);
	const total = segments.reduce((n, s) => n + s.filesz, 0);
	const random = rng(42);
	const lines = Array.from({ length: count }, () => {
		let at = Math.floor(random() * total);
		const seg = segments.find((s) => (at < s.filesz ? true : ((at -= s.filesz), false)));
		return `${(seg.vaddr + at).toString(16)} ${(seg.offset + at).toString(16)}`;
	});
	const both = `${dir}/both.txt`;
	const all = `${dir}/all.txt`;
	const few = `${dir}/few.txt`;
	writeFileSync(both, `${lines.join("\n")}\n`);
	writeFileSync(all, `${lines.map((l) => `0x${l.split(" ")[0]}`).join("\n")}\n`);
	writeFileSync(few, `${lines.slice(0, small).map((l) => `0x${l.split(" ")[0]}`).join("\n")}\n`);

	const ours = [];
	for (let r = 0; r < runs; r++) {
		const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", "--addresses", both, file], {
			cwd: fileURLToPath(new URL("..", import.meta.url)),
			encoding: "utf8",
			stdio: ["ignore", "pipe", "inherit"],
			maxBuffer: 1 << 26,
		});
		if (child.status !== 0) throw new Error(`the tsprof child for ${file} exited with ${child.status ?? child.signal}`);
		ours.push(JSON.parse(child.stdout));
	}
	const cold = median(ours.map((o) => count / (o.coldMs / 1000)));
	const warm = median(ours.map((o) => count / (median(o.warmMs) / 1000)));
	rows.push([file, "tsprof", ours[0].named, fmt(cold, 0), fmt(warm, 0)]);
	say(`${file}: tsprof cold ${fmt(cold, 0)}/s, warm ${fmt(warm, 0)}/s, ${ours[0].named} of ${count} named`);
	targets.push({ what: `warm symbolization, ${file}`, target: "≥ 1 M addresses/s", value: `${fmt(warm / 1e6, 2)} M/s (cold ${fmt(cold / 1e6, 3)} M/s)`, met: warm >= TARGET });

	for (const peer of peers) {
		const coldRates = [];
		const warmRates = [];
		let named = 0;
		for (let r = 0; r < runs; r++) {
			const whole = await timed("bash", ["-c", `${peer} -f -e "$0" < "$1"`, file, all]);
			const part = await timed("bash", ["-c", `${peer} -f -e "$0" < "$1"`, file, few]);
			if (whole.code !== 0) throw new Error(`${peer} failed on ${file}: ${whole.stderr.trim()}`);
			named = namedBy(whole.stdout);
			coldRates.push(count / whole.wallS);
			warmRates.push((count - small) / Math.max(1e-6, whole.wallS - part.wallS));
		}
		rows.push([file, peer, named, fmt(median(coldRates), 0), fmt(median(warmRates), 0)]);
		say(`${file}: ${peer} cold ${fmt(median(coldRates), 0)}/s, warm ${fmt(median(warmRates), 0)}/s, ${named} of ${count} named`);
	}
}

emit({
	id: "symbolize",
	title: "6. Symbolization throughput",
	method: `${count} addresses per file, spread at random (fixed seed) over its executable segments; addresses per second of wall time, medians of ${runs} runs. tsprof: the Symbolizer in a fresh process per run; cold = a new Symbolizer naming every address, ELF and build-id debug file reading included; warm = the median of ${WARM_PASSES} further passes (after ${WARMUP_PASSES} untimed ones) through new mapping objects (files parsed, no frame cached). Peers (\`-f -e FILE\`, addresses on stdin): cold = the whole process; warm = the extra time over a run on ${small} of the addresses, per extra address. The peers also look up each address's source line.`,
	columns: ["file", "tool", "named", "cold addresses/s", "warm addresses/s"],
	rows,
	targets,
	notes,
});
