#!/usr/bin/env node
// What capturing mappings through perf side-band records costs: bytes per
// process, and the time to decode them and apply them to the process table,
// over a storm of short-lived processes. Run as root after npm install.
// Usage: node bench/sideband-cost.mjs [COUNT=2000]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

// The build's output, loaded by computed path: the type check reads source/, not dist/.
const dist = (path) => import(new URL(`../dist/${path}`, import.meta.url).href);
const { decodeDrain } = await dist("kernel/abi.js");
const { loadKernel } = await dist("kernel/addon.js");
const { mergeSideband } = await dist("kernel/perf-records.js");
const { ProcessTable } = await dist("process/process-table.js");
const { ProcFs } = await dist("process/procfs.js");

const count = Number(process.argv[2] ?? 2000);
const dir = mkdtempSync(join(tmpdir(), "tsprof-sb-"));
const root = new URL("..", import.meta.url).pathname;
for (const f of ["brief-burn", "spawn-storm"]) execFileSync("gcc", ["-O1", "-o", join(dir, f), join(root, "test", "fixtures", `${f}.c`)]);

const kernel = loadKernel();
const session = kernel.createSession();
await session.open({ frequencyHz: 99, sidebandPages: 128 });
session.arm();
const drains = [];
const drainTimes = [];
const storm = spawnSync("sh", ["-c", "true"]); // warm
const child = (await import("node:child_process")).spawn(join(dir, "spawn-storm"), [String(count), "2", join(dir, "brief-burn"), "1"], { stdio: "ignore" });
const done = new Promise((r) => child.on("exit", r));
let finished = false;
done.then(() => { finished = true; });
const t0 = performance.now();
while (!finished) {
	await new Promise((r) => setTimeout(r, 250));
	const a = performance.now();
	drains.push(await session.drain());
	drainTimes.push(performance.now() - a);
}
drains.push(await session.drain());
// Each drain without a buffer handed back gets its own.
const wall = (performance.now() - t0) / 1000;
await session.close();

const table = new ProcessTable({ proc: new ProcFs() });
let bytes = 0;
let records = 0;
let lost = 0;
const a = performance.now();
for (const buf of drains) {
	const d = decodeDrain(buf.buffer, buf.length);
	for (const c of d.sideband) bytes += c.bytes.length;
	const recs = mergeSideband(d.sideband);
	records += recs.length;
	for (const r of recs) {
		if (r.kind === "lost") lost += r.lost;
		table.applySideband(r);
	}
}
const jsMs = performance.now() - a;
rmSync(dir, { recursive: true, force: true });
console.log(`${count} processes in ${wall.toFixed(1)} s (${(count / wall).toFixed(0)}/s), ${cpus().length} CPUs`);
console.log(`side-band: ${records} records, ${(bytes / 1024).toFixed(0)} KiB, ${(bytes / count).toFixed(0)} B per process, ${lost} lost`);
console.log(`decode + apply: ${jsMs.toFixed(1)} ms in all, ${((jsMs * 1000) / count).toFixed(1)} us per process, ${((jsMs / 1000 / wall) * 100).toFixed(2)}% of one CPU during the storm`);
console.log(`native drain (flip, events, side-band, maps): median ${drainTimes.sort((x, y) => x - y)[drainTimes.length >> 1].toFixed(2)} ms per 250 ms drain`);
