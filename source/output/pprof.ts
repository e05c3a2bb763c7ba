/**
 * The record file: a gzipped pprof `profile.proto`, read back into the
 * shared model without loss. What tsprof writes is described in
 * pprof-encoder.ts; this reader also takes other tools' profiles, and
 * files made of several gzip members or concatenated chunks.
 */
import { readFile } from "node:fs/promises";
import { gunzipSync, gzipSync } from "node:zlib";
import {
	Mapping,
	Function as PprofFunction,
	Profile as PprofProfile,
	type ValueType,
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
import { HZ_COMMENT, LOST_COMMENT, PprofEncoder } from "./pprof-encoder.js";

type Numeric = number | bigint;

const NS_PER_MS = 1_000_000n;

/**
 * The most a profile may inflate to. A recording of a busy hour is a few
 * tens of MiB; a small file that claims more is a gzip bomb or garbage.
 */
export const MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024;

/** Encodes `p` as a gzipped pprof profile. */
export function encodeProfile(p: Profile): Buffer {
	return gzipSync(encodeProfileRaw(p));
}

/** Encodes `p` as an uncompressed pprof `Profile` message. */
export function encodeProfileRaw(p: Profile): Uint8Array {
	return new PprofEncoder().chunk(p.samples, p);
}

/**
 * Decodes a pprof profile, gzipped or not, written by tsprof or by another
 * tool. Throws a plain Error whose message is a short reason (no file name)
 * when the bytes are not a well-formed profile.
 */
export function decodeProfile(
	buf: Uint8Array,
	maxBytes = MAX_DECOMPRESSED_BYTES,
): Profile {
	if (buf.length === 0) throw new Error("no data");
	let raw = buf;
	if (buf[0] === 0x1f && buf[1] === 0x8b) {
		try {
			raw = gunzipSync(buf, { maxOutputLength: maxBytes });
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
				throw new Error(`more than ${maxBytes} bytes once decompressed`);
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

	// default_sample_type names the type when set. Otherwise tsprof counts
	// samples when there is such a type (CPU profiles carry samples/count
	// beside cpu/nanoseconds), else takes the last one, as pprof does.
	const samplesIndex = pp.sampleType.findIndex(
		(t) => str(t.type) === "samples" && str(t.unit) === "count",
	);
	let valueIndex = samplesIndex >= 0 ? samplesIndex : pp.sampleType.length - 1;
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

function nsToMs(ns: Numeric): number {
	const n = BigInt(ns);
	return Number(n / NS_PER_MS) + Number(n % NS_PER_MS) / 1e6;
}
