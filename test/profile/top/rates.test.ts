import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cpuPercent, selfCpuPercent } from "../../../source/profile/top/rates.js";

describe("cpuPercent", () => {
	test("is samples over what one CPU gives in the interval", () => {
		assert.equal(cpuPercent(99, 99, 1000), 100);
		assert.equal(cpuPercent(50, 100, 500), 100);
		assert.equal(cpuPercent(25, 100, 1000), 25);
		// Two busy threads: top's Irix mode, over 100.
		assert.equal(cpuPercent(396, 99, 2000), 200);
	});
	test("is 0, not NaN or Infinity, before an interval exists", () => {
		assert.equal(cpuPercent(10, 99, 0), 0);
		assert.equal(cpuPercent(10, 0, 1000), 0);
	});
	test("selfCpuPercent counts user and system time over wall time", () => {
		assert.equal(
			selfCpuPercent(
				{ user: 1000, system: 0 },
				{ user: 6000, system: 5000 },
				100,
			),
			10,
		);
		assert.equal(
			selfCpuPercent({ user: 0, system: 0 }, { user: 10, system: 0 }, 0),
			0,
		);
	});
});
