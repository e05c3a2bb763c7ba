#!/usr/bin/env node
// Builds tsprof: checks the system packages (installing them with apt-get
// when run as root), generates vmlinux.h, compiles the BPF programs into a
// bpftool skeleton, builds the N-API addon against the system libbpf,
// compiles the TypeScript and bundles the CLI (dist/bundle/cli.js).
// Downloads nothing but what npm and apt fetch.
//
//   node scripts/build.mjs [native|ts]   build everything, or one half
//   node scripts/build.mjs pack          for `prepack`: build everything, then
//                                        stage the addon under prebuilds/
import { execFileSync, spawnSync } from "node:child_process";
import * as fsModule from "node:fs";
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "bpf", ".output");

// What the build needs, as "how we detect it" -> Debian package.
const needs = [
	{ pkg: "clang", ok: () => onPath("clang") },
	{ pkg: "llvm", ok: () => onPath("llvm-strip") },
	{ pkg: "bpftool", ok: () => onPath("bpftool") || existsSync("/usr/sbin/bpftool") },
	{ pkg: "libbpf-dev", ok: () => existsSync("/usr/include/bpf/libbpf.h") },
	{ pkg: "libelf-dev", ok: () => existsSync("/usr/include/libelf.h") },
	{ pkg: "zlib1g-dev", ok: () => existsSync("/usr/include/zlib.h") },
	{ pkg: "libiberty-dev", ok: () => existsSync("/usr/include/libiberty/demangle.h") },
	{ pkg: "make", ok: () => onPath("make") },
	{ pkg: "g++", ok: () => onPath("g++") },
	{ pkg: "python3", ok: () => onPath("python3") },
	// Symbols of the stripped libc and ld.so, found by build-id.
	{ pkg: "libc6-dbg", ok: () => existsSync("/usr/share/doc/libc6-dbg") },
	// MiniDebugInfo (.gnu_debugdata) is xz-compressed; tsprof runs `xz -dc`.
	{ pkg: "xz-utils", ok: () => onPath("xz") },
	// xmllint: the tests parse the flame graph SVG with it.
	{ pkg: "libxml2-utils", ok: () => onPath("xmllint") },
];

function onPath(cmd) {
	return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function fail(message) {
	process.stderr.write(`tsprof build: ${message}\n`);
	process.exit(1);
}

function run(cmd, args, opts = {}) {
	// Tools' output goes to stderr, so that `npm pack --json` prints only JSON on stdout.
	const r = spawnSync(cmd, args, { stdio: ["ignore", 2, 2], ...opts });
	if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

function ensurePackages() {
	const missing = needs.filter((n) => !n.ok()).map((n) => n.pkg);
	if (missing.length === 0) return;
	const cmd = `apt-get install -y ${missing.join(" ")}`;
	if (process.getuid?.() !== 0) fail(`missing system packages; run: sudo apt-get update && sudo ${cmd}`);
	process.stderr.write(`tsprof build: installing ${missing.join(" ")}\n`);
	const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
	run("apt-get", ["update", "-q"], { env });
	run("apt-get", ["install", "-y", "-q", ...missing], { env });
	const still = needs.filter((n) => !n.ok()).map((n) => n.pkg);
	if (still.length) fail(`still missing after apt-get: ${still.join(" ")}`);
}

function buildBpf() {
	mkdirSync(out, { recursive: true });
	const vmlinux = join(root, "bpf", "vmlinux.h");
	if (!existsSync(vmlinux)) {
		if (!existsSync("/sys/kernel/btf/vmlinux")) fail("this kernel has no BTF (/sys/kernel/btf/vmlinux); tsprof needs a kernel built with CONFIG_DEBUG_INFO_BTF");
		const h = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], { maxBuffer: 1 << 30 });
		writeAtomically(vmlinux, h);
	}
	const src = join(root, "bpf", "tsprof.bpf.c");
	const obj = join(out, "tsprof.bpf.o");
	const linked = join(out, "tsprof.o");
	run("clang", ["-g", "-O2", "-target", "bpf", `-D__TARGET_ARCH_${bpfArch()}`, "-I", join(root, "bpf"), "-c", src, "-o", obj]);
	// `gen object` strips DWARF, which keeps the embedded object small.
	run("bpftool", ["gen", "object", linked, obj]);
	const skel = execFileSync("bpftool", ["gen", "skeleton", linked, "name", "tsprof"], { maxBuffer: 1 << 28 });
	writeAtomically(join(out, "tsprof.skel.h"), skel);
}


/** libbpf's name for this CPU in the PT_REGS macros of bpf_tracing.h. */
function bpfArch() {
	const arch = { x64: "x86", arm64: "arm64", s390x: "s390", ppc64: "powerpc", riscv64: "riscv" }[process.arch];
	if (!arch) fail(`no BPF target for CPU architecture ${process.arch}`);
	return arch;
}

function writeAtomically(path, data) {
	const fs = fsModule;
	const tmp = `${path}.tmp`;
	fs.writeFileSync(tmp, data);
	fs.renameSync(tmp, path);
}

function nodeGyp() {
	// npm exposes its bundled node-gyp to lifecycle scripts; `npx node-gyp`
	// could try to download one.
	const candidates = [process.env.npm_config_node_gyp, "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js", "/usr/share/nodejs/npm/node_modules/node-gyp/bin/node-gyp.js"];
	return candidates.find((c) => c && existsSync(c));
}

function buildAddon() {
	const gyp = nodeGyp();
	if (!gyp) fail("cannot find npm's bundled node-gyp");
	const nodedir = existsSync("/usr/include/node/node.h") ? ["--nodedir=/usr"] : [];
	run(process.execPath, [gyp, "rebuild", ...nodedir], { cwd: join(root, "native") });
}

function buildTs() {
	const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
	if (!existsSync(tsc)) fail("typescript is not installed; run npm install");
	run(process.execPath, [tsc, "-p", join(root, "tsconfig.json")]);
}

/**
 * Bundles the compiled CLI and its dependencies into dist/bundle (what the
 * `tsprof` command runs): one module per part instead of hundreds of files
 * is about 200 ms less to the first frame of `top`, and less to compile at
 * start. Lazily loaded parts (Ink and React, for `top` on a terminal) stay
 * separate chunks. The bundle's copy of Ink's Output class is exposed for
 * source/ui/ink-output.ts, which has no file of it to import.
 */
async function bundleCli() {
	const { build } = await import("esbuild");
	const outdir = join(root, "dist", "bundle");
	fsModule.rmSync(outdir, { recursive: true, force: true });
	const exposeInkOutput = {
		name: "expose-ink-output",
		setup(b) {
			b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]output\.js$/ }, (args) => ({
				contents: `${fsModule.readFileSync(args.path, "utf8")}\nglobalThis[Symbol.for("tsprof.inkOutput")] = Output;\n`,
				loader: "js",
			}));
		},
	};
	// A plugin that renames a module's default export (`from` becomes `to`)
	// and appends `wrapper`, which exports a fast path in front of it; SGR
	// matches the style codes top writes.
	const wrapDefaultExport = (name, filter, from, to, wrapper) => ({
		name,
		setup(b) {
			b.onLoad({ filter }, (args) => {
				const original = fsModule.readFileSync(args.path, "utf8");
				const renamed = original.replace(from, to);
				if (renamed === original) throw new Error(`${args.path}: no '${from}' to wrap`);
				return { contents: `${renamed}\nconst SGR = /\\x1b\\[[\\d:;]*m/g;\n${wrapper}`, loader: "js" };
			});
		},
	});
	// Ink measures every line it lays out with string-width, which sends any
	// line with a character beyond ASCII through Intl.Segmenter and Unicode
	// regexes: a quarter of top's frame, for the few marks the tables use.
	// Those marks are one column each (ui/ink-output.ts holds their list), so
	// a line of ASCII and marks is as wide as it is long.
	const { NARROW_MARKS } = await import(pathToFileURL(join(root, "dist", "ui", "ink-output.js")).href);
	const narrowLines = wrapDefaultExport(
		"narrow-lines-fast",
		/[\\/]node_modules[\\/]string-width[\\/]index\.js$/,
		"export default function stringWidth(",
		"function fullStringWidth(",
		`const NARROW_LINE = new RegExp(${JSON.stringify(`^[\\x20-\\x7e${NARROW_MARKS}]*$`)});
export default function stringWidth(input, options) {
	if (typeof input === "string") {
		if (NARROW_LINE.test(input)) return input.length;
		// Styled text: string-width drops the escape codes before measuring.
		if (!options?.countAnsiEscapeCodes && input.includes("\\x1b")) {
			const plain = input.replace(SGR, "");
			if (NARROW_LINE.test(plain)) return plain.length;
		}
	}
	return fullStringWidth(input, options);
}
`,
	);
	// Ink also tokenizes every styled text to drop escape codes other than
	// SGR; top's texts hold SGR codes only, so they can pass as they are.
	const sgrOnlyPasses = wrapDefaultExport(
		"sgr-only-passes",
		/[\\/]ink[\\/]build[\\/]sanitize-ansi\.js$/,
		"export default sanitizeAnsi;",
		"",
		`const CONTROL = /[\\x1b\\x80-\\x9f]/;
export default function sanitizeSgrOnly(text) {
	return CONTROL.test(text.replace(SGR, "")) ? sanitizeAnsi(text) : text;
}
`,
	);
	await build({
		entryPoints: [join(root, "dist", "cli.js")],
		outdir,
		bundle: true,
		splitting: true,
		format: "esm",
		platform: "node",
		target: "node20",
		// Ink loads it only for React devtools, which tsprof does not use.
		external: ["react-devtools-core"],
		// CommonJS dependencies bundled into an ES module still call require.
		banner: { js: 'import { createRequire as tsprofCreateRequire } from "node:module";\nconst require = tsprofCreateRequire(import.meta.url);' },
		plugins: [exposeInkOutput, narrowLines, sgrOnlyPasses],
		logLevel: "warning",
	});
	const cli = join(outdir, "cli.js");
	chmodSync(cli, statSync(cli).mode | 0o111);
}


/**
 * Copies the freshly built addon to prebuilds/PLATFORM-ARCH/, where the
 * loader (source/kernel/addon.ts) finds it in an installed package. It is
 * an N-API addon, so one file serves every Node version from 20 on.
 * Symbols are stripped: nothing reads them, and they are most of its size.
 */
function stagePrebuild() {
	const built = join(root, "native", "build", "Release", "tsprof.node");
	const dir = join(root, "prebuilds", `${process.platform}-${process.arch}`);
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	const staged = join(dir, "tsprof.napi.node");
	copyFileSync(built, staged);
	if (onPath("strip")) run("strip", ["--strip-unneeded", staged]);
	process.stderr.write(`tsprof build: staged ${staged.slice(root.length + 1)} (${Math.round(statSync(staged).size / 1024)} KiB)\n`);
}

const mode = process.argv[2];
if (mode && !["native", "ts", "pack"].includes(mode)) fail(`unknown mode '${mode}' (native, ts or pack)`);
const all = !mode || mode === "pack";
if (all || mode === "native") {
	ensurePackages();
	buildBpf();
	buildAddon();
}
if (all || mode === "ts") {
	buildTs();
	await bundleCli();
}
if (mode === "pack") stagePrebuild();
