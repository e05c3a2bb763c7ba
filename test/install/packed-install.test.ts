/**
 * The npm package as a user gets it: `npm pack`, then `npm install -g` of
 * the tarball on a machine where no compiler, clang, bpftool or make can be
 * found, then tsprof from that prefix profiles a running program. And the
 * package's file list: only what runs, nothing of tests, benches or builds.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Scratch, waitForLines } from "../helpers/kernel-fixtures.js";
import { projectRoot, requireKernel } from "../helpers/root.js";

/** One entry of `npm pack --json`. */
interface PackResult {
	readonly filename: string;
	readonly size: number;
	readonly unpackedSize: number;
	readonly files: readonly { readonly path: string; readonly size: number }[];
}

/** What must never ship: tests, fixtures, benches, sources only the build reads, build intermediates. */
const forbidden: readonly RegExp[] = [
	/^test\//,
	/(^|\/)fixtures?\//,
	/^bench\//,
	/\.test\.tsx?$/,
	/^source\//,
	/^media\//,
	/^\.ci\//,
	/^dist\/(?!bundle\/)/,
	/^native\/build\//,
	/^bpf\/\.output\//,
	/(^|\/)vmlinux\.h$/,
	/\.(o|a|d|mk|tsbuildinfo|tgz|pb\.gz)$/,
	/(^|\/)(Makefile|config\.gypi)$/,
	/^node_modules\//,
];

/** Every path that ships must be one of these. */
const allowed: readonly RegExp[] = [
	/^(README\.md|LICENSE|package\.json)$/,
	/^dist\/bundle\/[\w.-]+\.js$/,
	/^prebuilds\/[a-z0-9]+-[a-z0-9]+\/tsprof\.napi\.node$/,
	/^scripts\/build\.mjs$/,
	/^bpf\/[\w.-]+\.(c|h)$/,
	/^native\/([\w.-]+\.(cc|c|h)|binding\.gyp)$/,
];

function checkFileList(paths: readonly string[]): void {
	const bad = paths.filter((p) => forbidden.some((r) => r.test(p)) || !allowed.some((r) => r.test(p)));
	assert.deepEqual(bad, [], `the package would ship: ${bad.join(", ")}`);
	assert.ok(paths.includes("dist/bundle/cli.js"), "the package lacks the CLI bundle");
	assert.ok(paths.includes("package.json"));
}

/** npm_* variables of an npm that runs this test would leak its config into the npm the test runs. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
	return { ...env, npm_config_update_notifier: "false", ...extra };
}

interface Ran {
	readonly code: number | null;
	readonly stdout: string;
	readonly stderr: string;
	readonly ms: number;
}

/** Runs a command to its end, killed after timeoutMs; never throws on a non-zero exit. */
function run(file: string, args: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<Ran> {
	const start = Date.now();
	return new Promise((resolve, reject) => {
		const child = spawn(file, args, { env: opts.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "";
		let stderr = "";
		child.stdout.setEncoding("utf8").on("data", (s: string) => {
			stdout += s;
		});
		child.stderr.setEncoding("utf8").on("data", (s: string) => {
			stderr += s;
		});
		const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
		child.once("error", reject);
		child.once("close", (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr, ms: Date.now() - start });
		});
	});
}

function ok(r: Ran, what: string): Ran {
	assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`);
	return r;
}

function duBytes(path: string): number {
	const st = statSync(path);
	if (!st.isDirectory()) return st.size;
	return readdirSync(path).reduce((sum, name) => sum + duBytes(join(path, name)), 0);
}

/** The real directory that holds libbpf.so.1 (Debian's multiarch library directory), if any. */
function libbpfDir(): string | undefined {
	const triplet = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }[process.arch as string];
	if (!triplet) return undefined;
	const found = [`/usr/lib/${triplet}`, `/lib/${triplet}`].map((d) => join(d, "libbpf.so.1")).find((p) => existsSync(p));
	return found && realpathSync(dirname(found));
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

test("the package's file list holds only what runs, and states its size", async (t) => {
	// The build that `npm install` made is enough to list files; prepack is not needed for that.
	assert.ok(existsSync(join(projectRoot, "dist", "bundle", "cli.js")), "dist/bundle is not built (npm install)");
	const r = ok(
		await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { env: cleanEnv(), cwd: projectRoot, timeoutMs: 60_000 }),
		"npm pack --dry-run",
	);
	const [pack] = JSON.parse(r.stdout) as PackResult[];
	checkFileList(pack.files.map((f) => f.path));
	t.diagnostic(`packed size ${kib(pack.size)}, unpacked ${kib(pack.unpackedSize)}, ${pack.files.length} files`);
	// A few hundred KiB today; several MiB would mean something ships that should not.
	assert.ok(pack.size < 2 * 1024 * 1024, `the package is ${kib(pack.size)} packed`);
});

describe("npm install -g of the packed tarball, with no compiler to be found", { skip: requireKernel() }, () => {
	let scratch: Scratch;
	let ratio: string;
	let pack: PackResult;
	let tarball: string;
	let prefix: string;
	/** PATH for everything after the pack: node and npm, and no compiler, clang, bpftool or make. */
	let bareBin: string;
	let bareEnv: NodeJS.ProcessEnv;
	let tsprof: string;

	before(() => {
		scratch = new Scratch("tsprof-pack-");
		// The fixture is built while gcc can still be found.
		ratio = scratch.compile("ratio-burn");
		bareBin = scratch.mkdir("bin-");
		for (const tool of ["node", "npm"]) {
			const found = (process.env.PATH ?? "").split(delimiter).map((d) => join(d, tool)).find((p) => existsSync(p));
			assert.ok(found, `${tool} is not on PATH`);
			symlinkSync(found, join(bareBin, tool));
		}
		prefix = join(scratch.dir, "prefix");
		mkdirSync(prefix);
		tsprof = join(prefix, "bin", "tsprof");
		bareEnv = cleanEnv({ PATH: [join(prefix, "bin"), bareBin].join(delimiter), CC: "/nonexistent/cc", CXX: "/nonexistent/c++" });
	});
	after(async () => {
		// A pack killed before postpack leaves package.json stripped; put it back.
		if (existsSync(join(projectRoot, "package.json.prepack"))) {
			execFileSync(process.execPath, [join(projectRoot, "scripts", "pack-manifest.mjs"), "restore"]);
		}
		await scratch?.cleanup();
	});

	test("npm pack builds the prebuilt addon into a tarball with no install scripts", { timeout: 300_000 }, async (t) => {
		const r = ok(
			await run("npm", ["pack", "--json", "--pack-destination", scratch.dir], { env: cleanEnv(), cwd: projectRoot, timeoutMs: 280_000 }),
			"npm pack",
		);
		[pack] = JSON.parse(r.stdout) as PackResult[];
		tarball = join(scratch.dir, pack.filename);
		const paths = pack.files.map((f) => f.path);
		checkFileList(paths);
		assert.ok(paths.includes(`prebuilds/${process.platform}-${process.arch}/tsprof.napi.node`), `no prebuilt addon in ${paths.join(", ")}`);
		const shipped = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" })) as {
			scripts?: Record<string, string>;
		};
		for (const s of ["preinstall", "install", "postinstall", "prepare"]) assert.equal(shipped.scripts?.[s], undefined, `the tarball has a ${s} script`);
		// postpack put the clone's own package.json back, install script and all.
		const own = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { scripts: Record<string, string> };
		assert.ok(own.scripts.install, "postpack did not restore package.json");
		assert.ok(!existsSync(join(projectRoot, "package.json.prepack")));
		t.diagnostic(`npm pack took ${(r.ms / 1000).toFixed(1)} s; packed ${kib(pack.size)}, unpacked ${kib(pack.unpackedSize)}`);
	});

	test("the prebuilt addon needs no shared library beyond libbpf1, libstdc++ and libc", () => {
		assert.ok(tarball, "no tarball");
		const dir = scratch.mkdir("unpacked-");
		execFileSync("tar", ["-xzf", tarball, "-C", dir]);
		const addon = join(dir, "package", "prebuilds", `${process.platform}-${process.arch}`, "tsprof.napi.node");
		const needed = [...execFileSync("readelf", ["-d", addon], { encoding: "utf8" }).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
		const base = /^(libbpf\.so\.1|libstdc\+\+\.so\.6|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|ld-linux[\w.-]*\.so\.\d)$/;
		assert.deepEqual(needed.filter((n) => !base.test(n)), [], `the addon needs ${needed.join(", ")}`);
		assert.ok(needed.includes("libbpf.so.1"));
	});

	test("installs with no compiler and no warning", { timeout: 120_000 }, async (t) => {
		assert.ok(tarball, "no tarball");
		for (const tool of ["cc", "gcc", "g++", "c++", "clang", "bpftool", "make"]) {
			assert.ok(!bareEnv.PATH?.split(delimiter).some((d) => existsSync(join(d, tool))), `${tool} can be found`);
		}
		const r = ok(
			await run("npm", ["install", "-g", "--prefix", prefix, tarball], { env: bareEnv, cwd: scratch.dir, timeoutMs: 110_000 }),
			"npm install -g",
		);
		assert.doesNotMatch(r.stdout + r.stderr, /npm (warn|error)|gyp/i);
		const installed = join(prefix, "lib", "node_modules", "tsprof");
		assert.ok(!existsSync(join(installed, "native", "build")), "the install compiled the addon");
		assert.ok(existsSync(tsprof));
		t.diagnostic(`npm install -g from the tarball took ${(r.ms / 1000).toFixed(1)} s; installed size ${kib(duBytes(prefix))}`);
	});

	test("tsprof --version reports the prebuilt addon and the kernel's features", { timeout: 30_000 }, async () => {
		const r = ok(await run(tsprof, ["--version"], { env: bareEnv, timeoutMs: 20_000 }), "tsprof --version");
		assert.match(r.stdout, /^tsprof \d+\.\d+\.\d+ .*BTF yes, ring buffer yes.*; addon prebuilt linux-/m);
	});

	test("tsprof top -n 1 and record from the prefix name a running program's function", { timeout: 90_000 }, async () => {
		const burner = scratch.start(ratio, ["0"]);
		await waitForLines(burner, 1);
		const top = ok(await run(tsprof, ["top", "-n", "1"], { env: bareEnv, timeoutMs: 30_000 }), "tsprof top -n 1");
		assert.match(top.stdout, /SAMPLES/);
		const file = join(scratch.dir, "packed.pb.gz");
		ok(await run(tsprof, ["record", "--duration", "2", "-o", file], { env: bareEnv, timeoutMs: 30_000 }), "tsprof record");
		const report = ok(await run(tsprof, ["report", file, "--json"], { env: bareEnv, timeoutMs: 20_000 }), "tsprof report --json");
		const json = JSON.parse(report.stdout) as { processes: { pid: number }[]; functions: { name: string; module: string; self: number }[] };
		assert.ok(json.processes.some((p) => p.pid === burner.pid), "the burner is not among the processes");
		// Other tests (or helpers) on the machine may run a ratio-burn of their own: match ours by path.
		const alpha = json.functions.find((f) => f.name === "ratio_alpha" && f.module === ratio);
		assert.ok(alpha && alpha.self > 0, `ratio_alpha of ${ratio} not named: ${JSON.stringify(json.functions.slice(0, 5))}`);
	});

	test("without libbpf1, the first run says in one line which package to install", { timeout: 60_000 }, async (t) => {
		const lib = libbpfDir();
		if (!lib) {
			if (process.env.CI === "true") assert.fail("libbpf.so.1 is not in a multiarch library directory");
			t.skip("libbpf.so.1 is not in a multiarch library directory");
			return;
		}
		// A mount namespace in which the library directory holds everything but libbpf:
		// a directory of symlinks to the real one (bound elsewhere) is bound over it.
		const ns = scratch.mkdir("ns-");
		const [orig, fake] = [join(ns, "orig"), join(ns, "fake")];
		mkdirSync(orig);
		mkdirSync(fake);
		for (const name of readdirSync(lib)) if (!name.startsWith("libbpf.so")) symlinkSync(join(orig, name), join(fake, name));
		const hidden = (args: readonly string[]) =>
			run(
				"unshare",
				["-m", "sh", "-c", 'mount --bind "$1" "$2" && mount --bind "$3" "$1" && shift 3 && PATH="$BARE_PATH" exec "$@"', "sh", lib, orig, fake, tsprof, ...args],
				// unshare and mount come from the full PATH; tsprof runs with the bare one.
				{ env: { ...bareEnv, PATH: process.env.PATH, BARE_PATH: bareEnv.PATH }, timeoutMs: 30_000 },
			);
		const rec = await hidden(["record", "--duration", "1", "-o", join(scratch.dir, "never.pb.gz")]);
		assert.equal(rec.code, 1, `record exited ${rec.code}: ${rec.stderr}`);
		assert.equal(rec.stderr, "tsprof: the tsprof addon needs libbpf.so.1, which is not installed; install it with: apt-get install libbpf1\n");
		const version = ok(await hidden(["--version"]), "tsprof --version without libbpf1");
		assert.match(version.stdout, /; addon: the tsprof addon needs libbpf\.so\.1, .+apt-get install libbpf1; /);
	});
});
