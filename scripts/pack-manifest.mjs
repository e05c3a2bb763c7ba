#!/usr/bin/env node
// npm counts a package's preinstall, install, postinstall and (for a
// tarball or git source) prepare scripts as install scripts, and npm 11
// warns about every one that the user has not approved. The installed
// package needs none of them: it ships a prebuilt addon, and its loader
// says how to build one where none fits. So `prepack` takes them out of
// package.json for the tarball, and `postpack` puts the file back as it was.
//
//   node scripts/pack-manifest.mjs strip     (prepack, after the build)
//   node scripts/pack-manifest.mjs restore   (postpack)
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = join(root, "package.json");
// Not ignored by git on purpose: a pack that died before postpack shows up in `git status`.
const original = join(root, "package.json.prepack");

/** The lifecycle scripts that npm would run, or warn about, when installing the package. */
export const installScripts = ["preinstall", "install", "postinstall", "prepare"];

function strip() {
	// A leftover copy is the true original from a pack that did not finish.
	if (!existsSync(original)) copyFileSync(manifest, original);
	const pkg = JSON.parse(readFileSync(original, "utf8"));
	for (const name of installScripts) delete pkg.scripts?.[name];
	writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
}

function restore() {
	if (existsSync(original)) renameSync(original, manifest);
}

const action = { strip, restore }[process.argv[2]];
if (!action) {
	process.stderr.write("usage: node scripts/pack-manifest.mjs strip|restore\n");
	process.exit(2);
}
action();
