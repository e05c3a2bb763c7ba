/**
 * The record file: a gzipped pprof `profile.proto`
 * (github.com/google/pprof/blob/main/proto/profile.proto), written so that
 * `go tool pprof` opens it, and read back into the shared model without loss.
 *
 * Layout of what tsprof writes:
 * - one sample type, `samples/count` or `off_cpu/nanoseconds`, with
 *   `period_type` cpu/nanoseconds and `period` = 1e9 / frequency;
 * - every sample has the labels `pid`, `tid` (numbers, so `-tagfocus=pid=N`
 *   works), `comm`, `exe` (strings) and `start_ns` (a number in nanoseconds);
 * - one mapping per (file, build-id, mapped range), kernel frames in a
 *   mapping whose file is `[kernel]`; `has_functions` is set, as names are
 *   already resolved;
 * - one location per (mapping, address, name) and one line per location, whose
 *   function has name = system_name = the frame's name and filename = module;
 * - comments `tsprof:lost=N` and `tsprof:hz=F` keep what proto fields cannot.
 */
import { readFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import {
	Label,
	Line,
	Location,
	Mapping,
	Function as PprofFunction,
	Profile as PprofProfile,
	Sample as PprofSample,
	StringTable,
	ValueType,
} from "pprof-format";
import { UserError } from "../errors.js";
import {
	type Frame,
	KERNEL_MODULE,
	type MappingRange,
	type Profile,
	type Sample,
	type Unit,
} from "../profile/model.js";

type Numeric = number | bigint;

const LOST_COMMENT = "tsprof:lost=";
const HZ_COMMENT = "tsprof:hz=";
const NS_PER_MS = 1_000_000n;

/** Encodes `p` as a gzipped pprof profile. */
export function encodeProfile(p: Profile): Buffer {
	return gzipSync(encodeProfileRaw(p));
}

/** Encodes `p` as an uncompressed pprof `Profile` message. */
export function encodeProfileRaw(p: Profile): Uint8Array {
	const st = new StringTable();
	const mappings: Mapping[] = [];
	const locations: Location[] = [];
	const functions: PprofFunction[] = [];
	const mappingIds = new Map<string, number>();
	const locationIds = new Map<string, number>();
	const functionIds = new Map<string, number>();
	// Frames are usually shared objects (symbol caches); skip the keys for those.
	const frameIds = new Map<Frame, number>();

	const mappingId = (f: Frame): number => {
		const file = f.kernel ? KERNEL_MODULE : f.module;
		const r = f.mapping;
		const key = r
			? `${file}\0${f.buildId ?? ""}\0${r.start}\0${r.limit}\0${r.offset}`
			: `${file}\0${f.buildId ?? ""}`;
		let id = mappingIds.get(key);
		if (id === undefined) {
			id = mappings.length + 1;
			mappings.push(
				new Mapping({
					id,
					memoryStart: r?.start ?? 0,
					memoryLimit: r?.limit ?? 0,
					fileOffset: r?.offset ?? 0,
					filename: st.dedup(file),
					buildId: st.dedup(f.buildId ?? ""),
					hasFunctions: true,
				}),
			);
			mappingIds.set(key, id);
		}
		return id;
	};

	const functionId = (f: Frame): number => {
		const key = `${f.name}\0${f.module}`;
		let id = functionIds.get(key);
		if (id === undefined) {
			id = functions.length + 1;
			const name = st.dedup(f.name);
			functions.push(
				new PprofFunction({
					id,
					name,
					systemName: name,
					filename: st.dedup(f.module),
				}),
			);
			functionIds.set(key, id);
		}
		return id;
	};

	const locationId = (f: Frame): number => {
		let id = frameIds.get(f);
		if (id !== undefined) return id;
		const mid = mappingId(f);
		const key = `${mid}\0${f.address ?? ""}\0${f.name}\0${f.module}`;
		id = locationIds.get(key);
		if (id === undefined) {
			id = locations.length + 1;
			locations.push(
				new Location({
					id,
					mappingId: mid,
					address: f.address ?? 0,
					line: [new Line({ functionId: functionId(f) })],
				}),
			);
			locationIds.set(key, id);
		}
		frameIds.set(f, id);
		return id;
	};

	const kPid = st.dedup("pid");
	const kTid = st.dedup("tid");
	const kComm = st.dedup("comm");
	const kExe = st.dedup("exe");
	const kStart = st.dedup("start_ns");
	const kWait = st.dedup("wait");
	const uNs = st.dedup("nanoseconds");

	const samples: PprofSample[] = [];
	for (const s of p.samples) {
		// Zero-valued fields are not written, and an empty label would be an
		// empty submessage, which pprof-format mis-measures: leave those out.
		const label: Label[] = [];
		if (s.pid !== 0) label.push(new Label({ key: kPid, num: s.pid }));
		if (s.tid !== 0) label.push(new Label({ key: kTid, num: s.tid }));
		if (s.comm !== "")
			label.push(new Label({ key: kComm, str: st.dedup(s.comm) }));
		if (s.exe !== "")
			label.push(new Label({ key: kExe, str: st.dedup(s.exe) }));
		if (s.startNs !== 0n)
			label.push(new Label({ key: kStart, num: s.startNs, numUnit: uNs }));
		if (s.waitReason) label.push(new Label({ key: kWait, str: st.dedup(s.waitReason) }));
		samples.push(
			new PprofSample({
				locationId: s.frames.map(locationId),
				value: [Math.max(0, Math.round(s.value))],
				label,
			}),
		);
	}

	const comment = [st.dedup(`${LOST_COMMENT}${p.lostSamples}`)];
	if (p.frequencyHz > 0)
		comment.push(st.dedup(`${HZ_COMMENT}${p.frequencyHz}`));

	const sampleType =
		p.unit === "nanoseconds"
			? new ValueType({ type: st.dedup("off_cpu"), unit: uNs })
			: new ValueType({ type: st.dedup("samples"), unit: st.dedup("count") });

	const profile = new PprofProfile({
		sampleType: [sampleType],
		sample: samples,
		mapping: mappings,
		location: locations,
		function: functions,
		stringTable: st,
		timeNanos: msToNs(p.startTimeMs),
		durationNanos: msToNs(p.durationMs),
		periodType: new ValueType({ type: st.dedup("cpu"), unit: uNs }),
		period: p.frequencyHz > 0 ? Math.round(1e9 / p.frequencyHz) : 0,
		comment,
	});
	return profile.encode();
}

/**
 * Decodes a pprof profile, gzipped or not, written by tsprof or by another
 * tool. Throws a plain Error whose message is a short reason (no file name)
 * when the bytes are not a well-formed profile.
 */
export function decodeProfile(buf: Uint8Array): Profile {
	if (buf.length === 0) throw new Error("no data");
	let raw = buf;
	if (buf[0] === 0x1f && buf[1] === 0x8b) {
		try {
			raw = gunzipSync(buf);
		} catch (e) {
			throw new Error(`bad gzip data: ${(e as Error).message}`);
		}
		if (raw.length === 0) throw new Error("no data inside the gzip stream");
	}
	checkFraming(raw);
	let pp: PprofProfile;
	try {
		pp = PprofProfile.decode(raw);
	} catch (e) {
		throw new Error(`bad protobuf: ${(e as Error).message}`);
	}
	return fromPprof(pp);
}

/**
 * Reads and decodes a profile file; every failure is a UserError naming the
 * file, fit to print as the one line the user sees.
 */
export async function readProfileFile(file: string): Promise<Profile> {
	let buf: Buffer;
	try {
		buf = await readFile(file);
	} catch (e) {
		throw new UserError(`cannot read ${file}: ${describeFsError(e)}`);
	}
	if (buf.length === 0) throw new UserError(`${file} is empty`);
	try {
		return decodeProfile(buf);
	} catch (e) {
		throw new UserError(
			`${file}: not a tsprof/pprof profile (${(e as Error).message})`,
		);
	}
}

function describeFsError(e: unknown): string {
	switch ((e as NodeJS.ErrnoException).code) {
		case "ENOENT":
			return "no such file";
		case "EACCES":
		case "EPERM":
			return "permission denied";
		case "EISDIR":
			return "is a directory";
		default:
			return (e as Error).message;
	}
}

/**
 * Walks the top-level fields. pprof-format reads past a cut-off field without
 * complaint, and it only understands one-byte tags with varint or
 * length-delimited values, which is all profile.proto uses.
 */
function checkFraming(buf: Uint8Array): void {
	let i = 0;
	while (i < buf.length) {
		const tag = buf[i] as number;
		const field = tag >> 3;
		const wire = tag & 7;
		const expected = FIELD_WIRE_TYPES[field];
		if (tag >= 0x80 || expected === undefined || !expected.includes(wire)) {
			throw new Error(
				`unexpected field tag 0x${tag.toString(16)} at byte ${i}`,
			);
		}
		i++;
		const [value, next] = readVarint(buf, i);
		i = next;
		if (wire === 2) {
			if (value > BigInt(buf.length - i)) throw new Error("truncated data");
			i += Number(value);
		}
	}
}

/**
 * Wire types of Profile's fields 1..15: messages, strings and packed
 * arrays are length-delimited, scalars are varints; `comment` may be either.
 */
const FIELD_WIRE_TYPES: readonly (readonly number[] | undefined)[] = [
	undefined,
	[2], // sample_type
	[2], // sample
	[2], // mapping
	[2], // location
	[2], // function
	[2], // string_table
	[0], // drop_frames
	[0], // keep_frames
	[0], // time_nanos
	[0], // duration_nanos
	[2], // period_type
	[0], // period
	[0, 2], // comment
	[0], // default_sample_type
	[0], // doc_url
];

function readVarint(buf: Uint8Array, start: number): [bigint, number] {
	let value = 0n;
	for (
		let i = start, shift = 0n;
		i < buf.length && i - start < 10;
		i++, shift += 7n
	) {
		const b = buf[i] as number;
		value |= BigInt(b & 0x7f) << shift;
		if (b < 0x80) return [value, i + 1];
	}
	throw new Error("truncated data");
}

function fromPprof(pp: PprofProfile): Profile {
	const strings = pp.stringTable.strings;
	if (strings[0] !== "") throw new Error('string table does not start with ""');
	const str = (x: Numeric): string => {
		const s = strings[Number(x)];
		if (s === undefined) throw new Error(`string index ${x} out of range`);
		return s;
	};
	if (pp.sampleType.length === 0) throw new Error("no sample type");

	// pprof's convention: default_sample_type names the type, else the last one.
	let valueIndex = pp.sampleType.length - 1;
	if (pp.defaultSampleType) {
		const want = str(pp.defaultSampleType);
		const found = pp.sampleType.findIndex((t) => str(t.type) === want);
		if (found >= 0) valueIndex = found;
	}
	const unit: Unit =
		str((pp.sampleType[valueIndex] as ValueType).unit) === "nanoseconds"
			? "nanoseconds"
			: "samples";

	const mappings = new Map<number, Mapping>();
	for (const m of pp.mapping) {
		const id = Number(m.id);
		if (id === 0 || mappings.has(id)) throw new Error(`bad mapping id ${id}`);
		mappings.set(id, m);
	}
	const functions = new Map<number, PprofFunction>();
	for (const f of pp.function) {
		const id = Number(f.id);
		if (id === 0 || functions.has(id)) throw new Error(`bad function id ${id}`);
		functions.set(id, f);
	}

	// One frame list per location (inlined lines expand to several frames),
	// shared by every sample that uses it.
	const locations = new Map<number, readonly Frame[]>();
	for (const loc of pp.location) {
		const id = Number(loc.id);
		if (id === 0 || locations.has(id)) throw new Error(`bad location id ${id}`);
		let mapping: Mapping | undefined;
		if (loc.mappingId) {
			mapping = mappings.get(Number(loc.mappingId));
			if (mapping === undefined)
				throw new Error(
					`location ${id} refers to missing mapping ${loc.mappingId}`,
				);
		}
		const mappingFile = mapping ? str(mapping.filename) : "";
		const kernel =
			mappingFile === KERNEL_MODULE || mappingFile.startsWith("[kernel.");
		const buildId = mapping ? str(mapping.buildId) : "";
		const range: MappingRange | undefined =
			mapping && (mapping.memoryStart || mapping.memoryLimit)
				? {
						start: BigInt(mapping.memoryStart),
						limit: BigInt(mapping.memoryLimit),
						offset: BigInt(mapping.fileOffset),
					}
				: undefined;
		const address = loc.address ? BigInt(loc.address) : undefined;
		const frame = (name: string, functionFile: string): Frame => {
			// The mapping's file is the module; for kernel frames tsprof keeps
			// the module in the function, as the mapping is always `[kernel]`.
			const module = kernel
				? functionFile || mappingFile
				: mappingFile || functionFile;
			const f: {
				name: string;
				module: string;
				kernel: boolean;
				address?: bigint;
				buildId?: string;
				mapping?: MappingRange;
			} = { name, module, kernel };
			if (address !== undefined) f.address = address;
			if (buildId !== "") f.buildId = buildId;
			if (range !== undefined) f.mapping = range;
			return f;
		};
		const frames: Frame[] = [];
		for (const line of loc.line) {
			const fn = functions.get(Number(line.functionId));
			if (fn === undefined)
				throw new Error(
					`location ${id} refers to missing function ${line.functionId}`,
				);
			frames.push(frame(str(fn.name) || str(fn.systemName), str(fn.filename)));
		}
		if (frames.length === 0) {
			const where = address !== undefined ? ` 0x${address.toString(16)}` : "";
			frames.push(frame(`[unknown]${where}`, ""));
		}
		locations.set(id, frames);
	}

	const samples: Sample[] = [];
	for (const ps of pp.sample) {
		if (ps.value.length !== pp.sampleType.length) {
			throw new Error(
				`a sample has ${ps.value.length} values for ${pp.sampleType.length} sample types`,
			);
		}
		let frames: Frame[] = [];
		for (const lid of ps.locationId) {
			const lf = locations.get(Number(lid));
			if (lf === undefined)
				throw new Error(`a sample refers to missing location ${lid}`);
			if (lf.length === 1) frames.push(lf[0] as Frame);
			else frames = frames.concat(lf);
		}
		let pid = 0;
		let tid = 0;
		let comm = "";
		let exe = "";
		let startNs = 0n;
		let waitReason: string | undefined;
		for (const l of ps.label) {
			switch (str(l.key)) {
				case "pid":
					pid = l.str ? Number(str(l.str)) : Number(l.num);
					break;
				case "tid":
					tid = l.str ? Number(str(l.str)) : Number(l.num);
					break;
				case "comm":
					comm = str(l.str);
					break;
				case "exe":
					exe = str(l.str);
					break;
				case "start_ns":
					startNs = l.str ? parseBigInt(str(l.str)) : BigInt(l.num);
					break;
				case "wait":
					waitReason = str(l.str);
					break;
			}
		}
		samples.push({
			pid,
			tid,
			startNs,
			comm,
			exe,
			frames,
			value: Number(ps.value[valueIndex]),
			...(waitReason ? { waitReason } : {}),
		});
	}

	let lostSamples = 0;
	let frequencyHz = 0;
	// The last comment wins, as for any merged protobuf field: a writer may
	// append chunks (concatenated messages) that each restate the totals.
	for (const c of pp.comment) {
		const text = str(c);
		if (text.startsWith(LOST_COMMENT)) {
			lostSamples = Number(text.slice(LOST_COMMENT.length)) || 0;
		} else if (text.startsWith(HZ_COMMENT)) {
			frequencyHz = Number(text.slice(HZ_COMMENT.length)) || 0;
		}
	}
	if (
		frequencyHz === 0 &&
		pp.period &&
		pp.periodType &&
		str(pp.periodType.unit) === "nanoseconds"
	) {
		const hz = 1e9 / Number(pp.period);
		// 1e9/99 Hz is stored rounded to whole ns; undo that rounding.
		frequencyHz =
			Math.abs(hz - Math.round(hz)) < 1e-3 * hz ? Math.round(hz) : hz;
	}

	return {
		samples,
		unit,
		frequencyHz,
		startTimeMs: nsToMs(pp.timeNanos),
		durationMs: nsToMs(pp.durationNanos),
		lostSamples,
	};
}

function parseBigInt(s: string): bigint {
	try {
		return BigInt(s);
	} catch {
		return 0n;
	}
}

/** Exact for whole ms (bigint), so epoch times keep every digit. */
function msToNs(ms: number): bigint {
	if (!Number.isFinite(ms) || ms <= 0) return 0n;
	const whole = Math.floor(ms);
	return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

function nsToMs(ns: Numeric): number {
	const n = BigInt(ns);
	return Number(n / NS_PER_MS) + Number(n % NS_PER_MS) / 1e6;
}
