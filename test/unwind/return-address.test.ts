import assert from "node:assert/strict";
import { test } from "node:test";
import { isReturnAddress } from "../../source/unwind/unwinder.js";

test("the sampled ip and interrupted ips are not return addresses; the other pcs are", () => {
	const r = { pcs: [1n, 2n, 3n, 4n], interrupted: [2] };
	assert.deepEqual([0, 1, 2, 3].map((i) => isReturnAddress(r, i)), [false, true, false, true]);
	assert.deepEqual([0, 1].map((i) => isReturnAddress({ pcs: [1n, 2n] }, i)), [false, true]);
});
