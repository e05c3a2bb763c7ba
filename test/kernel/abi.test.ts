import assert from "node:assert/strict";
import { test } from "node:test";
import { COMM_LEN, DRAIN_MAGIC, DRAIN_VERSION, FILENAME_LEN, LAYOUT } from "../../source/kernel/abi.js";
import { loadKernel } from "../../source/kernel/addon.js";
import { addonPath } from "../helpers/root.js";
import { existsSync } from "node:fs";

// The addon is built by npm install; its layout needs no root.
const skip = existsSync(addonPath) ? false : process.env.CI === "true" ? assert.fail("addon not built") : "addon not built";

test("the decoder's offsets equal the addon's sizeof/offsetof", { skip }, () => {
	const native = loadKernel().layout();
	for (const [struct, fields] of Object.entries(LAYOUT)) {
		assert.ok(native[struct], `the addon reports ${struct}`);
		assert.deepEqual(fields, native[struct], `layout of ${struct}`);
	}
	assert.deepEqual(Object.keys(native).filter((k) => k !== "constants").sort(), Object.keys(LAYOUT).sort());
	const c = native.constants;
	assert.equal(c.commLen, COMM_LEN);
	assert.equal(c.filenameLen, FILENAME_LEN);
	assert.equal(c.magic, DRAIN_MAGIC);
	assert.equal(c.version, DRAIN_VERSION);
});

test("the addon demangles C++ and Rust names and leaves plain ones", { skip }, () => {
	const names = loadKernel().demangle(["_ZN2v88internal4Heap7CollectEv", "_RNvCs1234_7mycrate3foo", "main", "_ZN4core3fmt5write17h0123456789abcdefE"]);
	assert.deepEqual(names, ["v8::internal::Heap::Collect()", "mycrate::foo", null, "core::fmt::write"]);
});
