import assert from "node:assert/strict";
import { test } from "node:test";
import type { Frame } from "../../source/profile/model.js";
import { userFramesOf } from "../../source/unwind/frames.js";

const named = (pc: bigint, ret: boolean): Frame => ({ name: `f${pc}${ret ? "-ret" : ""}`, module: "/bin/x", kernel: false, address: pc });

test("return addresses are named as calls, the ip and interrupted ips as they are", () => {
	const frames = userFramesOf({ pcs: [1n, 2n, 3n, 4n], interrupted: [2] }, named);
	assert.deepEqual(frames.map((f) => f.name), ["f1", "f2-ret", "f3", "f4-ret"]);
});

test("a truncated stack ends in a frame that says why, in the module of the frame above", () => {
	const frames = userFramesOf({ pcs: [1n, 2n], truncated: "stack copy too short" }, named);
	assert.equal(frames.length, 3);
	assert.deepEqual(frames[2], { name: "[unknown] (stack truncated: stack copy too short)", module: "/bin/x", kernel: false });
});

test("frames are appended to the list given, after the kernel's", () => {
	const kernel: Frame = { name: "schedule", module: "[kernel]", kernel: true };
	const frames = userFramesOf({ pcs: [9n] }, named, [kernel]);
	assert.deepEqual(frames.map((f) => f.name), ["schedule", "f9"]);
});
