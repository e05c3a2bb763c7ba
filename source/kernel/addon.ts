/**
 * The one file that loads the native addon. Nothing else imports the .node
 * file, so every layer above can be tested without root or a build.
 */
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

const addonPath = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "native", "build", "Release", "tsprof.node");

/** Loads the addon; a missing build is a user error, not a stack trace. */
export function loadKernel(): Kernel {
	let addon: NativeAddon;
	try {
		addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
	} catch (error) {
		throw new UserError(`cannot load the tsprof addon (${addonPath}): ${(error as Error).message.split("\n")[0]}; run npm install`);
	}
	return {
		createSession: () => new addon.Sampler(),
		layout: () => addon.layout(),
		demangle: (names) => addon.demangle(names),
		releaseFreeMemory: () => addon.releaseFreeMemory(),
	};
}
