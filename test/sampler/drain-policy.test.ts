import assert from "node:assert/strict";
import { test } from "node:test";
import {
	FIRST_DRAIN_MS,
	nextDrainDelay,
	STORM_DRAIN_MS,
	STORM_EVENTS,
} from "../../source/sampler/drain-policy.js";

const quiet = { drains: 3, sawSamples: true, lastEvents: 0 };

test("the interval bounds the time between drains", () => {
	assert.equal(nextDrainDelay({ intervalMs: 1000 }, quiet), 1000);
	assert.equal(nextDrainDelay({ intervalMs: 30 }, { ...quiet, drains: 0 }), 30, "never later than the interval");
});

test("the first drain comes early", () => {
	assert.equal(nextDrainDelay({ intervalMs: 1000 }, { ...quiet, drains: 0, sawSamples: false }), FIRST_DRAIN_MS);
});

test("a storm of lifecycle events brings the next drain forward", () => {
	assert.equal(nextDrainDelay({ intervalMs: 1000 }, { ...quiet, lastEvents: STORM_EVENTS }), STORM_DRAIN_MS);
	assert.equal(nextDrainDelay({ intervalMs: 1000 }, { ...quiet, lastEvents: STORM_EVENTS - 1 }), 1000);
});

test("a view that asked for early data gets drains often until the first samples", () => {
	const policy = { intervalMs: 1000, earlyMs: 100 };
	assert.equal(nextDrainDelay(policy, { ...quiet, sawSamples: false }), 100);
	assert.equal(nextDrainDelay(policy, quiet), 1000, "not once samples came");
	assert.equal(nextDrainDelay({ intervalMs: 1000 }, { ...quiet, sawSamples: false }), 1000, "not unless asked");
});
