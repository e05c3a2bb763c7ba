import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { UserError } from "../source/errors.js";
import { locateAddon, missingLibraryHint, noAddonMessage, openAddon } from "../source/kernel/addon.js";

const root = "/pkg";
const local = "/pkg/native/build/Release/tsprof.node";
const prebuilt = "/pkg/prebuilds/linux-x64/tsprof.napi.node";

describe("locateAddon", () => {
	test("a local build wins over the prebuilt addon, as in a clone that was also packed", () => {
		const files = new Set([local, prebuilt]);
		assert.deepEqual(locateAddon(root, "linux-x64", (p) => files.has(p)), { path: local, kind: "local build" });
	});

	test("an installed package, with no local build, loads the prebuilt addon of its platform", () => {
		const files = new Set([prebuilt]);
		assert.deepEqual(locateAddon(root, "linux-x64", (p) => files.has(p)), { path: prebuilt, kind: "prebuilt" });
		assert.equal(locateAddon(root, "linux-arm64", (p) => files.has(p)), undefined);
	});
});

describe("missingLibraryHint", () => {
	test("names the Debian package of a missing library, in one line", () => {
		const hint = missingLibraryHint("libbpf.so.1: cannot open shared object file: No such file or directory");
		assert.equal(hint, "the tsprof addon needs libbpf.so.1, which is not installed; install it with: apt-get install libbpf1");
		assert.match(missingLibraryHint("libelf.so.1: cannot open shared object file: No such file or directory") ?? "", /apt-get install libelf1$/);
	});

	test("names an unknown library without guessing a package, and ignores other errors", () => {
		assert.equal(missingLibraryHint("libfoo.so.3: cannot open shared object file: No such file or directory"), "the tsprof addon needs libfoo.so.3, which is not installed");
		assert.equal(missingLibraryHint("/x/tsprof.node: invalid ELF header"), undefined);
	});
});

describe("without a usable addon", () => {
	const dir = mkdtempSync(join(tmpdir(), "tsprof-loader-"));
	after(() => rmSync(dir, { recursive: true, force: true }));

	test("a clone is told to build, an installed package which platforms it has and how to build", () => {
		assert.match(noAddonMessage(dir), /^the tsprof addon is not built \(.+\); run npm install$/);
		mkdirSync(join(dir, "prebuilds", "linux-s390x"), { recursive: true });
		assert.match(noAddonMessage(dir), /^no prebuilt tsprof addon for .+ \(this package has: linux-s390x\); build one from source with: node .+build\.mjs native$/);
	});

	test("a file that is no addon is a one-line user error", () => {
		const bogus = join(dir, "bogus.node");
		writeFileSync(bogus, "not an ELF file\n");
		assert.throws(() => openAddon({ path: bogus, kind: "prebuilt" }), (e: unknown) => e instanceof UserError && /^cannot load the tsprof addon \(.+bogus\.node\): .+/.test(e.message) && !e.message.includes("\n"));
	});
});
