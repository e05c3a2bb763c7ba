import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
	countedFrames,
	countOnce,
	displayName,
	FunctionCounter,
	functionKey,
	KERNEL_ONLY_FRAME,
	NO_STACK_FRAME,
	type Tally,
} from "../../source/profile/count.js";
import type { Frame } from "../../source/profile/model.js";

const user = (name: string, module = "/bin/app"): Frame => ({ name, module, kernel: false });
const kern = (name: string): Frame => ({ name, module: "[kernel]", kernel: true });

describe("the counting rule", () => {
	it("merges unnamed frames of one module and reason, whatever their address", () => {
		assert.equal(displayName("[unknown] 0x7f3a12 (no symbols)"), "[unknown] (no symbols)");
		assert.equal(displayName("[unknown] (no map)"), "[unknown] (no map)");
		assert.equal(displayName("main"), "main");
		const a = user("[unknown] 0x10 (no symbols)", "/lib/x.so");
		const b = user("[unknown] 0x20 (no symbols)", "/lib/x.so");
		const c = user("[unknown] 0x20 (no symbols)", "/lib/y.so");
		assert.equal(functionKey(a), functionKey(b));
		assert.notEqual(functionKey(a), functionKey(c));
		assert.notEqual(functionKey(user("f", "[kernel]")), functionKey(kern("f")));
	});

	it("counts hidden-kernel stacks as [kernel] and frameless ones as no stack", () => {
		const stack = [kern("irq"), user("leaf"), user("main")];
		assert.equal(countedFrames(stack, false), stack);
		assert.deepEqual(countedFrames(stack, true), [user("leaf"), user("main")]);
		assert.deepEqual(countedFrames([kern("a"), kern("b")], true), [KERNEL_ONLY_FRAME]);
		assert.deepEqual(countedFrames([], false), [NO_STACK_FRAME]);
		assert.deepEqual(countedFrames([], true), [NO_STACK_FRAME]);
	});

	it("adds self to the innermost frame and total once per sample, even under recursion", () => {
		const f: Tally = { self: 0, total: 0, mark: 0 };
		const g: Tally = { self: 0, total: 0, mark: 0 };
		countOnce([f, g, f, g], 3, 1);
		countOnce([g, f], 2, 2);
		assert.deepEqual([f.self, f.total], [3, 5]);
		assert.deepEqual([g.self, g.total], [2, 5]);
		countOnce([], 7, 3);
		assert.deepEqual([f.self, g.self], [3, 2]);
	});

	it("a FunctionCounter's self sums to the value counted, with or without kernel frames", () => {
		const stacks = [
			{ frames: [kern("irq"), user("leaf"), user("main")], value: 2 },
			{ frames: [kern("irq"), kern("sys")], value: 3 },
			{ frames: [], value: 1 },
			{ frames: [user("rec"), user("rec"), user("main")], value: 4 },
		];
		for (const hideKernel of [false, true]) {
			const counter = new FunctionCounter({ hideKernel });
			for (const s of stacks) counter.add(s);
			const counts = counter.counts();
			assert.equal(counter.value, 10);
			assert.equal(counts.reduce((n, c) => n + c.self, 0), 10);
			const byName = new Map(counts.map((c) => [c.frame.name, c]));
			assert.equal(byName.get("main")?.total, 6);
			assert.equal(byName.get("rec")?.total, 4);
			assert.equal(byName.get("rec")?.self, 4);
			assert.equal(byName.get("[unknown] (stack truncated: no stack was read)")?.self, 1);
			assert.equal(byName.get("[kernel]")?.self, hideKernel ? 3 : undefined);
			assert.equal(byName.get("irq")?.total, hideKernel ? undefined : 5);
		}
	});
});
