import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Image } from "../../source/process/image.js";
import type { ProcIds } from "../../source/process/proc-status.js";
import { KernelSymbols } from "../../source/symbols/kallsyms.js";
import { JitSymbols } from "../../source/symbols/jit-maps.js";
import { Symbolizer } from "../../source/symbols/symbolizer.js";

let dir = "";
before(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsprof-jit-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const uid = process.getuid?.() ?? 0;
const noKernel = () => new KernelSymbols(0n, []);

/** A symbolizer whose processes all run as us, in our namespaces, with maps in `dir`. */
function symbolizer(ids: (pid: number) => ProcIds | undefined = () => ({ uids: [uid], nsPid: 0, sameMountNs: true })) {
	const jit = new JitSymbols({ tmpDir: dir, refreshMs: 0, readIds: (pid) => {
		const found = ids(pid);
		return found && { ...found, nsPid: found.nsPid || pid };
	} });
	return { s: new Symbolizer({ loadKernelSymbols: noKernel, jit }), jit };
}

function jitImage(exe = "/usr/bin/node"): Image {
	const image = new Image();
	image.exe = exe;
	image.add({ start: 0x7f0000000000n, end: 0x7f0000100000n, pgoff: 0x7f0000000000n, path: "//anon" });
	return image;
}

test("code in anonymous memory is named from the perf map, as the language names it", () => {
	fs.writeFileSync(path.join(dir, "perf-5001.map"), "7f0000001000 100 JS:*jsHotAlpha /app/jit.js:8:20\n7f0000002000 80 py::fib:/app/x.py\n7f0000003000 40 Builtin:Something\n");
	const { s } = symbolizer();
	const image = jitImage();
	const alpha = s.userFrame(5001, image, 0x7f0000001010n, false);
	assert.deepEqual([alpha.name, alpha.module, alpha.unknownReason], ["jsHotAlpha", "/app/jit.js", undefined]);
	assert.deepEqual(alpha.mapping, { start: 0x7f0000000000n, limit: 0x7f0000100000n, offset: 0x7f0000000000n });
	const fib = s.userFrame(5001, image, 0x7f0000002004n, true);
	assert.deepEqual([fib.name, fib.module], ["fib", "/app/x.py"]);
	assert.deepEqual([s.userFrame(5001, image, 0x7f0000003000n, false).name, s.userFrame(5001, image, 0x7f0000003000n, false).module], ["Builtin:Something", "[jit]"]);
});

test("entries appended later name addresses that missed before", () => {
	const file = path.join(dir, "perf-5002.map");
	fs.writeFileSync(file, "7f0000001000 100 JS:*early /a.js:1:1\n");
	const { s } = symbolizer();
	const image = jitImage();
	const miss = s.userFrame(5002, image, 0x7f0000005000n, false);
	assert.equal(miss.unknownReason, "JIT code: not in the perf map");
	assert.equal(miss.name, "[unknown] 0x7f0000005000 (JIT code: not in the perf map)");
	fs.appendFileSync(file, "7f0000005000 100 JS:*late /a.js:9:1\n");
	assert.equal(s.userFrame(5002, image, 0x7f0000005000n, false).name, "late");
});

test("a node without a perf map says how to get one; another runtime names the missing file", () => {
	const { s } = symbolizer();
	const f = s.userFrame(5003, jitImage(), 0x7f0000001000n, false);
	assert.equal(f.name, "[unknown] 0x7f0000001000 (JIT code: start node with --perf-basic-prof or under tsprof --)");
	assert.equal(f.module, "[jit]");
	const java = s.userFrame(5003, jitImage("/usr/lib/jvm/bin/java"), 0x7f0000001000n, false);
	assert.equal(java.unknownReason, `JIT code: no perf map ${dir}/perf-5003.map`);
});

test("a refused map names nothing, and says why", () => {
	const real = path.join(dir, "planted.map");
	fs.writeFileSync(real, "7f0000001000 100 JS:*planted /evil.js:1:1\n");
	fs.symlinkSync(real, path.join(dir, "perf-5004.map"));
	const { s } = symbolizer();
	const f = s.userFrame(5004, jitImage(), 0x7f0000001010n, false);
	assert.match(f.name, /^\[unknown\] 0x7f0000001010 \(JIT code: perf map refused: .*perf-5004\.map is a symlink\)$/);
	assert.ok(!f.name.includes("planted"));
	const other = path.join(dir, "perf-5005.map");
	fs.writeFileSync(other, "7f0000001000 100 JS:*planted /evil.js:1:1\n");
	const asOther = symbolizer(() => ({ uids: [uid + 4242], nsPid: 0, sameMountNs: true })).s;
	if (uid !== 0) {
		// Not root: the file is ours, and ours is not the process's user.
		assert.match(asOther.userFrame(5005, jitImage(), 0x7f0000001010n, false).name, /perf map refused: .* is owned by uid/);
	}
});

test("a process in another pid and mount namespace: its map is read through its root, by its own pid", () => {
	const { s } = symbolizer(() => ({ uids: [uid], nsPid: 7, sameMountNs: false }));
	const procRoot = fs.mkdtempSync(path.join(dir, "proc-"));
	const jit = new JitSymbols({ procRoot, tmpDir: dir, refreshMs: 0, readIds: () => ({ uids: [uid], nsPid: 7, sameMountNs: false }) });
	fs.mkdirSync(path.join(procRoot, "5006", "root", "tmp"), { recursive: true });
	fs.writeFileSync(path.join(procRoot, "5006", "root", "tmp", "perf-7.map"), "7f0000001000 100 JS:*inContainer /srv/app.js:1:1\n");
	const frame = jit.frame(5006, jitImage(), 0x7f0000001004n);
	assert.deepEqual([frame.name, frame.module], ["inContainer", "/srv/app.js"]);
	assert.match(s.userFrame(5006, jitImage(), 0x7f0000001004n, false).unknownReason ?? "", /^JIT code/);
});

test("the map is kept with the image: named after the process exited and its map was deleted", () => {
	const file = path.join(dir, "perf-5007.map");
	fs.writeFileSync(file, "7f0000001000 100 JS:*beforeExit /a.js:1:1\n");
	let alive = true;
	const { s } = symbolizer(() => (alive ? { uids: [uid], nsPid: 0, sameMountNs: true } : undefined));
	const image = jitImage();
	assert.equal(s.userFrame(5007, image, 0x7f0000001000n, false).name, "beforeExit");
	alive = false;
	fs.rmSync(file);
	assert.equal(s.userFrame(5007, image, 0x7f0000001010n, false).name, "beforeExit");
	// A process first seen after its exit cannot have its map's owner checked.
	assert.match(s.userFrame(5008, jitImage(), 0x7f0000001000n, false).unknownReason ?? "", /ended before its perf map was checked/);
});

test("addresses outside every mapping: the perf map if there is one, else why no mapping is known", () => {
	fs.writeFileSync(path.join(dir, "perf-5009.map"), "7f1000001000 100 JS:*mprotected /a.js:1:1\n");
	const { s } = symbolizer();
	const image = jitImage();
	assert.equal(s.userFrame(5009, image, 0x7f1000001004n, false).name, "mprotected");
	const none = s.userFrame(5009, image, 0x10n, false);
	assert.equal(none.unknownReason, "no mapping known: the address is outside the captured mappings");
	assert.equal(none.module, "[unknown]");
	const empty = s.userFrame(5010, new Image(), 0x10n, false);
	assert.equal(empty.unknownReason, "no mapping known: none was captured for the process");
});
