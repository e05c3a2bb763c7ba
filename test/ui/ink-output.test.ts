import "./force-color.js";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	fastFrame,
	type InkOutput,
	inkOutputClass,
	installFastOutput,
	NARROW_MARKS,
} from "../../source/ui/ink-output.js";

const Output = (await inkOutputClass()) as unknown as {
	new (size: { width: number; height: number }): InkOutput & {
		write(x: number, y: number, text: string, options: { transformers: ((line: string, index: number) => string)[] }): void;
		clip(clip: { x1?: number; x2?: number; y1?: number; y2?: number }): void;
		unclip(): void;
		get(): { output: string; height: number };
	};
	prototype: { get(this: InkOutput): { output: string; height: number } };
};
const inkGet = Output.prototype.get;

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state * 1664525 + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
}

const SGR = [
	"\u001B[1m", "\u001B[2m", "\u001B[22m", "\u001B[7m", "\u001B[27m", "\u001B[4m", "\u001B[24m",
	"\u001B[31m", "\u001B[32m", "\u001B[39m", "\u001B[90m", "\u001B[38;5;208m", "\u001B[38;2;1;2;3m",
	"\u001B[44m", "\u001B[49m", "\u001B[48;5;17m", "\u001B[0m", "\u001B[1;31m",
];
/** Things only Ink's own method handles: wide, combining, other escapes, control characters. */
const EXOTIC = ["漢", "e\u0301", "🙂", "\t", "\u001B]8;;http://x\u0007ln\u001B]8;;\u0007", "\u001B[2K", "\u009B31m", "é"];

function text(next: () => number, exotic: boolean): string {
	const lines: string[] = [];
	const count = 1 + Math.floor(next() * 4);
	for (let l = 0; l < count; l++) {
		let line = "";
		const parts = Math.floor(next() * 12);
		for (let p = 0; p < parts; p++) {
			const r = next();
			if (r < 0.3) line += SGR[Math.floor(next() * SGR.length)];
			else if (r < 0.4) line += [...NARROW_MARKS][Math.floor(next() * NARROW_MARKS.length)];
			else if (r < 0.45 && exotic) line += EXOTIC[Math.floor(next() * EXOTIC.length)];
			else if (r < 0.55) line += " ".repeat(1 + Math.floor(next() * 6));
			else line += "abcXYZ019-_[](){}.:/*".slice(Math.floor(next() * 10), 10 + Math.floor(next() * 11));
		}
		lines.push(line);
	}
	return lines.join("\n");
}

function randomOutput(next: () => number, exotic: boolean) {
	const output = new Output({ width: 1 + Math.floor(next() * 40), height: Math.floor(next() * 8) });
	const writes = Math.floor(next() * 10);
	for (let w = 0; w < writes; w++) {
		const transformers: ((line: string, index: number) => string)[] = [];
		if (next() < 0.3) transformers.push((line) => `\u001B[2m${line}\u001B[22m`);
		if (next() < 0.2) transformers.push((line, index) => (index % 2 ? `\u001B[7m${line}\u001B[27m` : line));
		output.write(Math.floor(next() * (output.width + 4)), Math.floor(next() * (output.height + 3)) - 1, text(next, exotic), { transformers });
	}
	return output;
}

describe("Ink output", () => {
	test("the fast path gives Ink's own frame for random writes, styles, overlaps and overruns", () => {
		const next = random(1);
		let fast = 0;
		for (let i = 0; i < 2000; i++) {
			const output = randomOutput(next, false);
			const frame = fastFrame(output);
			assert.ok(frame, "plain ASCII, marks and SGR codes are all handled");
			assert.deepEqual(frame, inkGet.call(output), `case ${i}`);
			fast++;
		}
		assert.equal(fast, 2000);
	});

	test("anything else is left to Ink: wide and combining characters, links, other escapes, clipping", () => {
		const next = random(2);
		let declined = 0;
		for (let i = 0; i < 3000; i++) {
			const output = randomOutput(next, true);
			const frame = fastFrame(output);
			if (frame === undefined) declined++;
			else assert.deepEqual(frame, inkGet.call(output), `case ${i}`);
		}
		assert.ok(declined > 300, `declined ${declined}`);
		for (const exotic of EXOTIC) {
			const output = new Output({ width: 10, height: 2 });
			output.write(0, 0, `a${exotic}b`, { transformers: [] });
			assert.equal(fastFrame(output), undefined, JSON.stringify(exotic));
		}
		const clipped = new Output({ width: 10, height: 2 });
		clipped.clip({ x1: 0, x2: 5 });
		clipped.write(0, 0, "abcdefgh", { transformers: [] });
		clipped.unclip();
		assert.equal(fastFrame(clipped), undefined);
	});

	test("installing makes Ink's Output use the fast path, once", async () => {
		const before = Output.prototype.get;
		try {
			await installFastOutput();
			const installed = Output.prototype.get;
			assert.notEqual(installed, before);
			await installFastOutput();
			assert.equal(Output.prototype.get, installed);
			const output = new Output({ width: 6, height: 2 });
			output.write(1, 0, "\u001B[7mab\u001B[27m", { transformers: [] });
			output.write(0, 1, "漢x", { transformers: [] });
			assert.deepEqual(output.get(), inkGet.call(output));
		} finally {
			Output.prototype.get = before;
		}
	});
});
