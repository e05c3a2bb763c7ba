import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import {
	Line,
	Location,
	Mapping,
	Function as PprofFunction,
	Profile as PprofProfile,
	Sample as PprofSample,
	StringTable,
	ValueType,
} from "pprof-format";
import {
	decodeProfile,
	encodeProfile,
	encodeProfileRaw,
} from "../../source/output/pprof.js";
import {
	type Frame,
	KERNEL_MODULE,
	type Profile,
} from "../../source/profile/model.js";

const EXE = "/opt/work/ratio";
const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const EXE_RANGE = {
	start: 0x55d0_0000_0000n,
	limit: 0x55d0_0000_3000n,
	offset: 0x1000n,
};
const LIBC_RANGE = {
	start: 0x7f3a_1000_0000n,
	limit: 0x7f3a_101a_0000n,
	offset: 0x28000n,
};

const main: Frame = {
	name: "main",
	module: EXE,
	kernel: false,
	address: 0x55d0_0000_1010n,
	buildId: "aa11",
	mapping: EXE_RANGE,
};
const workLoop: Frame = {
	name: "work_loop",
	module: EXE,
	kernel: false,
	address: 0x55d0_0000_1100n,
	buildId: "aa11",
	mapping: EXE_RANGE,
};
const hotAlpha: Frame = {
	name: "hot_alpha",
	module: EXE,
	kernel: false,
	address: 0x55d0_0000_1200n,
	buildId: "aa11",
	mapping: EXE_RANGE,
};
const hotBeta: Frame = {
	name: "hot_beta",
	module: EXE,
	kernel: false,
	address: 0x55d0_0000_1300n,
	buildId: "aa11",
	mapping: EXE_RANGE,
};
const libcStart: Frame = {
	name: "__libc_start_call_main",
	module: LIBC,
	kernel: false,
	address: 0x7f3a_1002_9d90n,
	buildId: "bb22",
	mapping: LIBC_RANGE,
};
const unknown: Frame = {
	name: "[unknown] 0x7f3a12 (no symbols)",
	module: "/tmp/stripped",
	kernel: false,
	address: 0x7f3a12n,
};
const noAddress: Frame = {
	name: "[unknown] (no map)",
	module: "",
	kernel: false,
};
const kRead: Frame = {
	name: "vfs_read",
	module: KERNEL_MODULE,
	kernel: true,
	address: 0xffff_ffff_8100_1234n,
};
const kEntry: Frame = {
	name: "entry_SYSCALL_64",
	module: KERNEL_MODULE,
	kernel: true,
	address: 0xffff_ffff_8200_0050n,
	buildId: "cc33",
};

/** Stacks outermost first, stored innermost first. */
const stack = (...outerToInner: Frame[]) => [...outerToInner].reverse();

const profile: Profile = {
	unit: "samples",
	frequencyHz: 99,
	startTimeMs: 1_752_000_000_123,
	durationMs: 5000,
	lostSamples: 7,
	samples: [
		{
			pid: 42,
			tid: 42,
			startNs: 123_456_789_012_345_678n,
			comm: "ratio",
			exe: EXE,
			value: 300,
			frames: stack(libcStart, main, workLoop, hotAlpha),
		},
		{
			pid: 42,
			tid: 43,
			startNs: 123_456_789_012_345_678n,
			comm: "ratio",
			exe: EXE,
			value: 100,
			frames: stack(libcStart, main, workLoop, hotBeta),
		},
		// an equal frame that is another object must dedup too
		{
			pid: 42,
			tid: 42,
			startNs: 123_456_789_012_345_678n,
			comm: "ratio",
			exe: EXE,
			value: 2,
			frames: stack({ ...main }, kEntry, kRead),
		},
		{
			pid: 7,
			tid: 7,
			startNs: 5n,
			comm: "strip",
			exe: "/tmp/stripped",
			value: 1,
			frames: stack(unknown, noAddress),
		},
		// the idle task: pid 0, no exe, kernel-only stack
		{
			pid: 0,
			tid: 0,
			startNs: 0n,
			comm: "swapper/0",
			exe: "",
			value: 4,
			frames: stack(kEntry),
		},
		{ pid: 9, tid: 9, startNs: 1n, comm: "", exe: "", value: 1, frames: [] },
	],
};

/** Frames compared on the fields a report and pprof care about. */
function plain(p: Profile) {
	return p.samples.map((s) => ({
		...s,
		frames: s.frames.map((f) => ({
			name: f.name,
			module: f.module,
			kernel: f.kernel,
			address: f.address,
			buildId: f.buildId,
			mapping: f.mapping,
		})),
	}));
}

function rawOf(buf: Uint8Array): PprofProfile {
	return PprofProfile.decode(gunzipSync(buf));
}

describe("pprof", () => {
	test("round-trips a profile", () => {
		const back = decodeProfile(encodeProfile(profile));
		assert.deepEqual(plain(back), plain(profile));
		assert.equal(back.unit, "samples");
		assert.equal(back.frequencyHz, 99);
		assert.equal(back.startTimeMs, profile.startTimeMs);
		assert.equal(back.durationMs, 5000);
		assert.equal(back.lostSamples, 7);
	});

	test("round-trips off-CPU nanoseconds and odd figures", () => {
		const p: Profile = {
			...profile,
			unit: "nanoseconds",
			frequencyHz: 0,
			durationMs: 1234.5,
			lostSamples: 0,
			samples: [
				{
					...(profile.samples[0] as Profile["samples"][number]),
					value: 5_000_000_000,
				},
			],
		};
		const back = decodeProfile(encodeProfile(p));
		assert.equal(back.unit, "nanoseconds");
		assert.equal(back.frequencyHz, 0);
		assert.equal(back.durationMs, 1234.5);
		assert.equal(back.samples[0]?.value, 5_000_000_000);
		assert.deepEqual(plain(back), plain(p));
	});

	test("is gzipped, and raw protobuf decodes too", () => {
		const gz = encodeProfile(profile);
		assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
		const raw = encodeProfileRaw(profile);
		assert.deepEqual(plain(decodeProfile(raw)), plain(profile));
	});

	test("follows profile.proto: string 0 is empty, ids exist, types named", () => {
		const pp = rawOf(encodeProfile(profile));
		const s = pp.stringTable.strings;
		const str = (i: number | bigint) => {
			const v = s[Number(i)];
			assert.notEqual(v, undefined, `string index ${i}`);
			return v as string;
		};
		assert.equal(s[0], "");
		assert.deepEqual(
			pp.sampleType.map((t) => [str(t.type), str(t.unit)]),
			[
				["samples", "count"],
				["cpu", "nanoseconds"],
			],
		);
		// What Pyroscope and Grafana read: CPU time = samples × period.
		const period = Math.round(1e9 / profile.frequencyHz);
		assert.equal(Number(pp.period), period);
		for (const [i, ps] of pp.sample.entries()) {
			const v = profile.samples[i]?.value as number;
			assert.deepEqual(ps.value.map(Number), [v, v * period]);
		}
		assert.ok(Number(pp.timeNanos) > 0 && Number(pp.durationNanos) > 0);
		assert.ok(pp.periodType);
		assert.deepEqual(
			[str(pp.periodType.type), str(pp.periodType.unit)],
			["cpu", "nanoseconds"],
		);
		assert.equal(Number(pp.period), Math.round(1e9 / 99));
		assert.equal(BigInt(pp.durationNanos), 5_000_000_000n);
		assert.equal(BigInt(pp.timeNanos), 1_752_000_000_123_000_000n);
		assert.ok(pp.comment.map(str).includes("tsprof:lost=7"));

		const ids = (xs: { id: number | bigint }[]) => xs.map((x) => Number(x.id));
		const mappingIds = new Set(ids(pp.mapping));
		const functionIds = new Set(ids(pp.function));
		const locationIds = new Set(ids(pp.location));
		for (const set of [mappingIds, functionIds, locationIds]) {
			assert.ok(!set.has(0), "id 0 is reserved");
		}
		assert.equal(mappingIds.size, pp.mapping.length, "unique mapping ids");
		assert.equal(functionIds.size, pp.function.length, "unique function ids");
		assert.equal(locationIds.size, pp.location.length, "unique location ids");
		for (const loc of pp.location) {
			assert.ok(
				mappingIds.has(Number(loc.mappingId)),
				"location.mapping_id is set and exists",
			);
			assert.equal(loc.line.length, 1);
			for (const line of loc.line)
				assert.ok(functionIds.has(Number(line.functionId)));
		}
		for (const sample of pp.sample) {
			assert.equal(sample.value.length, pp.sampleType.length);
			for (const id of sample.locationId)
				assert.ok(locationIds.has(Number(id)));
			for (const l of sample.label) str(l.key);
		}
		for (const f of pp.function) {
			assert.equal(str(f.name), str(f.systemName));
			str(f.filename);
		}
	});

	test("dedups mappings, functions and locations", () => {
		const pp = rawOf(encodeProfile(profile));
		const frames = new Set(
			profile.samples.flatMap((s) =>
				s.frames.map((f) => `${f.module}|${f.name}|${f.address}`),
			),
		);
		assert.equal(pp.location.length, frames.size);
		assert.equal(pp.function.length, frames.size);
		// exe, libc, stripped, no-file, kernel without and with build-id
		assert.equal(pp.mapping.length, 6);
		const strings = new Set<string>();
		for (const x of pp.stringTable.strings) {
			assert.ok(!strings.has(x), `string ${JSON.stringify(x)} stored once`);
			strings.add(x);
		}
	});

	test("samples carry pid, tid, comm, exe and start_ns labels", () => {
		const pp = rawOf(encodeProfile(profile));
		const s = pp.stringTable.strings;
		const first = pp.sample[0] as PprofSample;
		const labels = Object.fromEntries(
			first.label.map((l) => [
				s[Number(l.key)],
				l.str ? s[Number(l.str)] : BigInt(l.num),
			]),
		);
		assert.deepEqual(labels, {
			pid: 42n,
			tid: 42n,
			comm: "ratio",
			exe: EXE,
			start_ns: 123_456_789_012_345_678n,
		});
		// numbers, so that `go tool pprof -tagfocus=pid=42` selects them
		assert.ok(
			first.label.every(
				(l) =>
					(s[Number(l.key)] === "comm" || s[Number(l.key)] === "exe") ===
					Boolean(l.str),
			),
		);
	});

	test("mappings carry file names, build-ids and ranges; kernel frames sit in [kernel]", () => {
		const pp = rawOf(encodeProfile(profile));
		const s = pp.stringTable.strings;
		const byFile = new Map(pp.mapping.map((m) => [s[Number(m.filename)], m]));
		const exe = byFile.get(EXE) as Mapping;
		assert.equal(s[Number(exe.buildId)], "aa11");
		assert.deepEqual(
			[
				BigInt(exe.memoryStart),
				BigInt(exe.memoryLimit),
				BigInt(exe.fileOffset),
			],
			[EXE_RANGE.start, EXE_RANGE.limit, EXE_RANGE.offset],
		);
		assert.ok(exe.hasFunctions);
		assert.equal(s[Number((byFile.get(LIBC) as Mapping).buildId)], "bb22");
		const kernel = pp.mapping.filter(
			(m) => s[Number(m.filename)] === KERNEL_MODULE,
		);
		assert.deepEqual(kernel.map((m) => s[Number(m.buildId)]).sort(), [
			"",
			"cc33",
		]);

		const kernelIds = new Set(kernel.map((m) => Number(m.id)));
		const kernelFns = pp.location
			.filter((l) => kernelIds.has(Number(l.mappingId)))
			.map((l) => {
				const fn = pp.function.find(
					(f) => f.id === l.line[0]?.functionId,
				) as PprofFunction;
				return [s[Number(fn.name)], BigInt(l.address)];
			});
		assert.deepEqual(kernelFns.sort(), [
			["entry_SYSCALL_64", 0xffff_ffff_8200_0050n],
			["vfs_read", 0xffff_ffff_8100_1234n],
		]);
	});

	test("an empty profile round-trips", () => {
		const empty: Profile = { ...profile, samples: [], lostSamples: 0 };
		const back = decodeProfile(encodeProfile(empty));
		assert.deepEqual(back.samples, []);
		assert.equal(back.frequencyHz, 99);
	});

	test("reads other tools' profiles: default type, inlined lines, period", () => {
		const st = new StringTable();
		const pp = new PprofProfile({
			sampleType: [
				new ValueType({ type: st.dedup("samples"), unit: st.dedup("count") }),
				new ValueType({ type: st.dedup("cpu"), unit: st.dedup("nanoseconds") }),
			],
			mapping: [
				new Mapping({
					id: 1,
					filename: st.dedup("/bin/go-app"),
					buildId: st.dedup("dd44"),
				}),
			],
			function: [
				new PprofFunction({
					id: 1,
					name: st.dedup("main.inner"),
					filename: st.dedup("main.go"),
				}),
				new PprofFunction({
					id: 2,
					name: st.dedup("main.outer"),
					filename: st.dedup("main.go"),
				}),
			],
			location: [
				new Location({
					id: 1,
					mappingId: 1,
					address: 0x401000,
					line: [new Line({ functionId: 1 }), new Line({ functionId: 2 })],
				}),
			],
			sample: [new PprofSample({ locationId: [1], value: [3, 30_000_000] })],
			stringTable: st,
			periodType: new ValueType({
				type: st.dedup("cpu"),
				unit: st.dedup("nanoseconds"),
			}),
			period: 10_000_000,
		});
		const back = decodeProfile(gzipSync(pp.encode()));
		// A CPU profile with samples/count is read as sample counts...
		assert.equal(back.unit, "samples");
		assert.equal(back.frequencyHz, 100);
		assert.equal(back.samples[0]?.value, 3);
		// ...unless default_sample_type names another type.
		pp.defaultSampleType = st.dedup("cpu");
		const cpu = decodeProfile(pp.encode());
		assert.equal(cpu.unit, "nanoseconds");
		assert.equal(cpu.samples[0]?.value, 30_000_000);
		assert.deepEqual(
			back.samples[0]?.frames.map((f) => [
				f.name,
				f.module,
				f.kernel,
				f.address,
				f.buildId,
			]),
			[
				["main.inner", "/bin/go-app", false, 0x401000n, "dd44"],
				["main.outer", "/bin/go-app", false, 0x401000n, "dd44"],
			],
		);
	});

	describe("rejects bad input with a short reason", () => {
		const raw = encodeProfileRaw(profile);
		const gz = encodeProfile(profile);
		const cases: [string, Uint8Array][] = [
			["empty", new Uint8Array()],
			["text", Buffer.from("hello, world\n")],
			["JSON", Buffer.from('{"samples": 3}')],
			["truncated raw", raw.subarray(0, raw.length - 5)],
			["truncated raw, mid-way", raw.subarray(0, Math.floor(raw.length / 2))],
			["truncated gzip", gz.subarray(0, gz.length - 10)],
			["gzip header only", gz.subarray(0, 10)],
			["gzipped text", gzipSync("not a profile")],
			["gzipped nothing", gzipSync(Buffer.alloc(0))],
			["zeros", Buffer.alloc(64)],
			["a bare integer field", Buffer.from([0x48, 0x01])],
		];
		for (const [what, bytes] of cases) {
			test(what, () => {
				assert.throws(
					() => decodeProfile(bytes),
					(e: unknown) => {
						assert.ok(e instanceof Error);
						assert.ok(
							e.message.length > 0 && !e.message.includes("\n"),
							e.message,
						);
						return true;
					},
				);
			});
		}

		test("dangling ids", () => {
			const st = new StringTable();
			const pp = new PprofProfile({
				sampleType: [
					new ValueType({ type: st.dedup("samples"), unit: st.dedup("count") }),
				],
				sample: [new PprofSample({ locationId: [5], value: [1] })],
				stringTable: st,
			});
			assert.throws(() => decodeProfile(pp.encode()), /missing location 5/);
		});
	});
});
