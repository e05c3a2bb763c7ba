import assert from "node:assert/strict";
import { test } from "node:test";
import { NO_STACK_FRAME } from "../../../source/profile/count.js";
import { isUnknownFrame, stackFrameCount, unknownPercent } from "../../../source/profile/top/unknown-frames.js";
import { withWaitFrames } from "../../../source/profile/top/wait-frames.js";
import { unknownName } from "../../../source/symbols/unknown.js";
import { kernel, sample, user } from "../../ui/fake-source.js";

test("a frame is unknown by its reason, or by its name when read back from a recording", () => {
	const jit = { name: unknownName(0x7f00n, "JIT code: not in the perf map"), module: "[anon]", kernel: false, unknownReason: "JIT code: not in the perf map" };
	assert.equal(isUnknownFrame(jit), true);
	assert.equal(isUnknownFrame(user("[unknown] 0x7f3a12 (no symbols)")), true);
	assert.equal(isUnknownFrame(NO_STACK_FRAME), true);
	assert.equal(isUnknownFrame(user("main")), false);
	assert.equal(isUnknownFrame(kernel("do_syscall_64")), false);
});

test("a stack's frames are counted once each, kernel ones included, the wait pseudo-frame left out", () => {
	const [blocked] = withWaitFrames([
		sample(1, [user("main"), user("[unknown] 0x10 (no symbols)"), kernel("futex_wait")], 5e8, { waitReason: "lock" }),
	]);
	assert.ok(blocked);
	assert.equal(blocked.frames.length, 4, "the wait frame is there");
	assert.deepEqual(stackFrameCount(blocked.frames), { frames: 3, unknown: 1 });
	assert.deepEqual(stackFrameCount([]), { frames: 0, unknown: 0 });
});

test("UNK% is unknown over all frames; nothing to judge by gives no figure", () => {
	assert.equal(unknownPercent({ frames: 305, unknown: 5 }), (5 / 305) * 100);
	assert.equal(unknownPercent({ frames: 4, unknown: 4 }), 100);
	assert.equal(unknownPercent({ frames: 0, unknown: 0 }), undefined);
	assert.equal(unknownPercent(undefined), undefined);
});
