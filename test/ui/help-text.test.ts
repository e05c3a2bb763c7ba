import assert from "node:assert/strict";
import { test } from "node:test";
import { clampHelpOffset, HELP_LINES, helpText, wrap } from "../../source/ui/help-text.js";
import { UNKNOWN_HELP } from "../../source/symbols/unknown.js";

test("wrap breaks between words, indents the lines after the first, and leaves a too-long word whole", () => {
	assert.deepEqual(wrap("  k   ", "hide or show kernel frames", 16, "      "), ["  k   hide or", "      show", "      kernel", "      frames"]);
	assert.deepEqual(wrap("", "short", 80, "  "), ["short"]);
	assert.deepEqual(wrap("- ", "a --perf-basic-prof-only-functions b", 10, "  "), ["- a", "  --perf-basic-prof-only-functions", "  b"]);
});

test("the help has every key and every unknown reason, no line wider than the screen", () => {
	for (const width of [60, 80, 200]) {
		const lines = helpText(width);
		assert.ok(lines.every((l) => l.text.length <= width), `width ${width}`);
		const text = lines.map((l) => l.text.trim()).join(" ");
		for (const [keys, what] of HELP_LINES) assert.ok(text.includes(`${keys} ${what}`) || text.includes(what), keys);
		for (const [kind, line] of UNKNOWN_HELP) assert.ok(text.includes(line), `${kind} at ${width}`);
		assert.deepEqual(
			lines.filter((l) => l.heading).map((l) => l.text).at(-1),
			"Unknown frames",
		);
	}
	assert.ok(helpText(60).length > helpText(200).length, "narrower screens wrap more");
});

test("the help scrolls no further than its last page, and not at all when it fits", () => {
	assert.equal(clampHelpOffset(5, 30, 10), 5);
	assert.equal(clampHelpOffset(25, 30, 10), 20);
	assert.equal(clampHelpOffset(-3, 30, 10), 0);
	assert.equal(clampHelpOffset(4, 8, 10), 0);
});
