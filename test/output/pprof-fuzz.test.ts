/**
 * The reader against thousands of damaged recordings: every case ends in a
 * profile or in an Error with a one-line message, quickly, and a small file
 * never inflates past the decompression bound.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { decodeProfile, encodeProfileRaw } from "../../source/output/pprof.js";
import { PprofEncoder } from "../../source/output/pprof-encoder.js";
import { F, fixtureProfile, sample } from "../helpers/profiles.js";

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
		return s / 4294967296;
	};
}

/** A recording as `record` leaves it before compaction: several gzip members. */
function chunkedRecording(): { file: Buffer; members: Buffer[] } {
	const enc = new PprofEncoder();
	const meta = fixtureProfile();
	const members = [gzipSync(enc.chunk([], meta))];
	for (const s of meta.samples) members.push(gzipSync(enc.chunk([s], meta)));
	members.push(gzipSync(enc.chunk([sample(42, 44, "ratio", [F.beta, F.loop, F.main], 9)], meta)));
	return { file: Buffer.concat(members), members };
}

function check(bytes: Uint8Array, what: string): void {
	const t0 = performance.now();
	try {
		const p = decodeProfile(bytes, 8 * 1024 * 1024);
		assert.ok(Array.isArray(p.samples), what);
	} catch (e) {
		assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
		assert.ok(e.message.length > 0 && !e.message.includes("\n"), `${what}: one-line message, got ${JSON.stringify(e.message)}`);
	}
	const ms = performance.now() - t0;
	assert.ok(ms < 500, `${what}: took ${ms.toFixed(0)} ms`);
}

test("6000 damaged recordings each decode or fail with a one-line Error", () => {
	const random = rng(12);
	const int = (n: number) => Math.floor(random() * n);
	const { file, members } = chunkedRecording();
	const raw = Buffer.from(encodeProfileRaw(fixtureProfile()));
	let clean = 0;
	let cases = 0;
	const run = (bytes: Uint8Array, what: string) => {
		cases++;
		try {
			decodeProfile(bytes, 8 * 1024 * 1024);
			clean++;
		} catch {
			// counted below through check()
		}
		check(bytes, what);
	};
	for (let i = 0; i < 1500; i++) {
		// Bit flips in the gzip stream, and in the protobuf inside it.
		const g = Buffer.from(file);
		for (let k = 1 + int(4); k > 0; k--) g[int(g.length)] ^= 1 << int(8);
		run(g, `gzip bit flips #${i}`);
		const r = Buffer.from(raw);
		for (let k = 1 + int(4); k > 0; k--) r[int(r.length)] ^= 1 << int(8);
		run(r, `raw bit flips #${i}`);
		run(gzipSync(r), `gzipped raw bit flips #${i}`);
	}
	for (let i = 0; i < 800; i++) {
		run(file.subarray(0, int(file.length)), `gzip truncated #${i}`);
		run(raw.subarray(0, int(raw.length)), `raw truncated #${i}`);
	}
	for (let i = 0; i < 800; i++) {
		// Members out of order, repeated or missing: chunks refer to tables they lack.
		const picked = Array.from({ length: 1 + int(members.length) }, () => members[int(members.length)] as Buffer);
		run(Buffer.concat(picked), `spliced members #${i}`);
		const a = int(raw.length);
		const b = int(raw.length);
		run(Buffer.concat([raw.subarray(0, a), raw.subarray(b)]), `spliced raw #${i}`);
	}
	for (let i = 0; i < 500; i++) {
		const garbage = Buffer.alloc(1 + int(4000));
		for (let k = 0; k < garbage.length; k++) garbage[k] = int(256);
		run(gzipSync(garbage), `gzip of garbage #${i}`);
		run(garbage, `garbage #${i}`);
	}
	assert.ok(cases >= 6000, `${cases} cases`);
	// Both outcomes occur: the test is not vacuous.
	assert.ok(clean > 0 && clean < cases, `${clean} of ${cases} decoded`);
});

test("the decompressed size is bounded: a small gzip bomb is refused, not inflated", () => {
	const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
	assert.ok(bomb.length < 64 * 1024);
	const before = process.memoryUsage().arrayBuffers;
	assert.throws(() => decodeProfile(bomb, 4 * 1024 * 1024), /more than 4194304 bytes once decompressed/);
	assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, "no 32 MiB buffer was made");
});

test("every intact prefix of members decodes to the samples it carries", () => {
	const { members } = chunkedRecording();
	let expected = 0;
	const values = [0, ...fixtureProfile().samples.map((s) => s.value), 9];
	for (let i = 1; i <= members.length; i++) {
		expected += values[i - 1] as number;
		const p = decodeProfile(Buffer.concat(members.slice(0, i)));
		assert.equal(p.samples.reduce((n, s) => n + s.value, 0), expected);
	}
});
