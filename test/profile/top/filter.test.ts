import assert from "node:assert/strict";
import { test } from "node:test";
import { functionKey, KERNEL_ONLY_FRAME, NO_STACK_FRAME } from "../../../source/profile/count.js";
import type { Frame } from "../../../source/profile/model.js";
import { forEachStack } from "../../../source/profile/top/filter.js";
import { intervalsToData } from "../../helpers/top-data.js";
import { batch, kernel, sample, user } from "../../ui/fake-source.js";

const data = () =>
	intervalsToData([
		[
			batch([
				sample(1, [user("main"), user("write"), kernel("vfs_write")], 2),
				sample(2, [kernel("worker_thread"), kernel("schedule")], 3),
				sample(3, [], 4),
			]),
		],
	]);

function visited(pids: number[], hideKernel: boolean) {
	const out: [string[], number][] = [];
	forEachStack(data(), { pids, hideKernel }, (frames, keys, value) => {
		assert.deepEqual(keys, frames.map(functionKey), "keys stay in step with the frames");
		out.push([frames.map((f: Frame) => f.name), value]);
	});
	return out.sort((a, b) => a[1] - b[1]);
}

test("every stack is visited with its counted frames", () => {
	assert.deepEqual(visited([], false), [
		[["vfs_write", "write", "main"], 2],
		[["schedule", "worker_thread"], 3],
		[[NO_STACK_FRAME.name], 4],
	]);
});

test("hidden kernel frames leave user frames, and [kernel] for a kernel-only stack", () => {
	assert.deepEqual(visited([], true), [
		[["write", "main"], 2],
		[[KERNEL_ONLY_FRAME.name], 3],
		[[NO_STACK_FRAME.name], 4],
	]);
});

test("the pid filter picks the stacks of those pids only", () => {
	assert.deepEqual(visited([2, 3], true), [
		[[KERNEL_ONLY_FRAME.name], 3],
		[[NO_STACK_FRAME.name], 4],
	]);
});

test("the interval keeps the value of kernel-only stacks for the window's [kernel] row", () => {
	const d = data();
	assert.equal(d.totals.kernelOnly, 3);
	assert.equal(d.totals.samples, 9);
});
