// CPU of one checkpoint, without the kernel: a recording of DISTINCT stacks
// grows by NEW stacks and 200 samples every 2 s; compares rewriting the
// whole file (the old checkpoint) with appending a chunk (RecordingFile).
// Usage: node --import tsx bench/checkpoint-cost.mjs [DISTINCT=20000] [ROUNDS=30]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeProfile } from "../source/output/pprof.js";
import { RecordingFile } from "../source/output/recording-file.js";
import { Recorder } from "../source/profile/recorder.js";

const distinct = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 30);
const dir = mkdtempSync(join(tmpdir(), "tsprof-ckpt-"));
const frames = Array.from({ length: 4000 }, (_, i) => ({ name: `fn_${i}`, module: `/lib/m${i % 40}.so`, kernel: i % 7 === 0, address: BigInt(0x400000 + i * 16) }));
let seed = 1;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
const stacks = Array.from({ length: distinct }, () => Array.from({ length: 4 + rand(16) }, () => frames[rand(frames.length)]));
const batch = (k) => ({ samples: Array.from({ length: k }, (_, i) => ({ pid: 100 + (i % 50), tid: 100 + (i % 50), startNs: 1n, comm: `p${i % 50}`, exe: "/bin/x", frames: stacks[rand(stacks.length)], value: 1 })) });

function run(kind) {
	const rec = new Recorder(join(dir, `${kind}.pb.gz`), 0, 99, 0);
	rec.add(batch(distinct)); // a recording that already holds many stacks
	const file = new RecordingFile(rec, () => 0, () => 1);
	if (kind === "append") file.start();
	const times = [];
	for (let r = 0; r < rounds; r++) {
		rec.add(batch(200));
		const t0 = performance.now();
		if (kind === "append") file.checkpoint();
		else writeFileSync(rec.file, encodeProfile(rec.profile(1, 0)));
		times.push(performance.now() - t0);
	}
	times.sort((a, b) => a - b);
	return times[times.length >> 1];
}
const whole = run("rewrite");
const append = run("append");
console.log(`${distinct} distinct stacks, +200 samples per checkpoint, median of ${rounds}:`);
console.log(`  rewrite the whole file: ${whole.toFixed(2)} ms per checkpoint = ${(whole / 20).toFixed(3)}% of a core every 2 s`);
console.log(`  append a chunk:         ${append.toFixed(2)} ms per checkpoint = ${(append / 20).toFixed(3)}% of a core every 2 s`);
rmSync(dir, { recursive: true, force: true });
