/**
 * The one file that loads the native addon. Nothing else imports the .node
 * file, so every layer above can be tested without root or a build.
 *
 * Where the addon comes from, in the order of node-gyp-build: a local build
 * (native/build/Release, what `npm install` in a clone or the from-source
 * fallback makes) wins over the prebuilt one that the npm package ships
 * (prebuilds/PLATFORM-ARCH, staged by `npm pack`). A package installed from
 * the tarball has no local build, so it loads the prebuilt addon; a clone
 * always tests what it just built.
 */
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import type { AbiLayout, Kernel, KernelSession } from "./kernel.js";

interface NativeAddon {
	Sampler: new () => KernelSession;
	layout(): AbiLayout;
	demangle(names: readonly string[]): (string | null)[];
	releaseFreeMemory(): void;
}

/**
 * The package's root directory. This file sits two levels below it in
 * source/, in dist/ and in the bundle (dist/bundle/*.js) alike.
 */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** An addon file that can be loaded, and where it came from. */
export interface AddonLocation {
	readonly path: string;
	readonly kind: "local build" | "prebuilt";
}

/** The addon for this platform, or undefined when neither a local build nor a prebuilt one is there. */
export function locateAddon(
	root = packageRoot,
	target = `${process.platform}-${process.arch}`,
	exists: (path: string) => boolean = existsSync,
): AddonLocation | undefined {
	const local = join(root, "native", "build", "Release", "tsprof.node");
	if (exists(local)) return { path: local, kind: "local build" };
	const prebuilt = join(root, "prebuilds", target, "tsprof.napi.node");
	if (exists(prebuilt)) return { path: prebuilt, kind: "prebuilt" };
	return undefined;
}

/**
 * The Debian/Ubuntu package of each shared library the addon (or libbpf,
 * which it links) needs; checked with ldd on the built addon.
 */
const debianPackages: Readonly<Record<string, string>> = {
	"libbpf.so.1": "libbpf1",
	"libelf.so.1": "libelf1",
	"libz.so.1": "zlib1g",
	"libstdc++.so.6": "libstdc++6",
	"libgcc_s.so.1": "libgcc-s1",
};

/**
 * One line for a failed dlopen: which library is missing and which package
 * brings it, or undefined when the error is not a missing library.
 */
export function missingLibraryHint(message: string): string | undefined {
	const m = /([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file/.exec(message);
	if (!m) return undefined;
	const pkg = debianPackages[m[1]];
	return pkg
		? `the tsprof addon needs ${m[1]}, which is not installed; install it with: apt-get install ${pkg}`
		: `the tsprof addon needs ${m[1]}, which is not installed`;
}

/** Why no addon was found, and what to do: a clone builds one, an installed package says how. */
export function noAddonMessage(root = packageRoot): string {
	const target = `${process.platform}-${process.arch}`;
	const prebuilds = join(root, "prebuilds");
	// Only an installed package has prebuilds/; a clone builds in npm install.
	if (!existsSync(prebuilds)) return `the tsprof addon is not built (${target}); run npm install`;
	const shipped = readdirSync(prebuilds).join(", ") || "none";
	return `no prebuilt tsprof addon for ${target} (this package has: ${shipped}); build one from source with: node ${join(root, "scripts", "build.mjs")} native`;
}

/** Loads the addon's module, or throws a UserError saying what to do. */
export function openAddon(location = locateAddon()): NativeAddon {
	if (!location) throw new UserError(noAddonMessage());
	try {
		return createRequire(import.meta.url)(location.path) as NativeAddon;
	} catch (error) {
		const first = (error as Error).message.split("\n")[0];
		throw new UserError(missingLibraryHint(first) ?? `cannot load the tsprof addon (${location.path}): ${first}`);
	}
}

/** Loads the addon; a missing build or library is a user error, not a stack trace. */
export function loadKernel(): Kernel {
	const addon = openAddon();
	return {
		createSession: () => new addon.Sampler(),
		layout: () => addon.layout(),
		demangle: (names) => addon.demangle(names),
		releaseFreeMemory: () => addon.releaseFreeMemory(),
	};
}
