/**
 * Encodes profiles as pprof `profile.proto` messages, in chunks.
 *
 * Protobuf merges concatenated messages: repeated fields append, scalars
 * take the last value. So a profile can be written as a first chunk and
 * then deltas, each carrying only the strings, mappings, functions and
 * locations it introduces and the samples taken since the last one; the
 * concatenation of the chunks is one valid profile. The encoder keeps its
 * tables between chunks, so a checkpoint costs what is new, not what was
 * recorded so far.
 *
 * Layout of what tsprof writes (github.com/google/pprof proto/profile.proto):
 * - sample types by unit (SAMPLE_TYPES): CPU recordings carry
 *   `samples/count` and `cpu/nanoseconds`, off-CPU ones `off_cpu/nanoseconds`;
 *   `period_type` cpu/nanoseconds and `period` = 1e9 / frequency;
 * - every sample has the labels `pid`, `tid` (numbers, so `-tagfocus=pid=N`
 *   works), `comm`, `exe` (strings) and `start_ns` (a number in nanoseconds),
 *   and off-CPU samples `wait` (what the thread waited for);
 * - one mapping per (file, build-id, mapped range), kernel frames in a
 *   mapping whose file is `[kernel]`; `has_functions` is set, as names are
 *   already resolved;
 * - one location per (mapping, address, name) with one line, whose function
 *   has name = system_name = the frame's name and filename = module;
 * - comments `tsprof:lost=N` and `tsprof:hz=F` keep what proto fields
 *   cannot; each chunk restates them and readers take the last.
 */
import { type Frame, KERNEL_MODULE, type Sample, type Unit } from "../profile/model.js";
import { ProtoWriter } from "./proto-writer.js";

export const LOST_COMMENT = "tsprof:lost=";
export const HZ_COMMENT = "tsprof:hz=";

/** What a profile's header says about how it was taken. */
export interface PprofMeta {
	readonly unit: Unit;
	readonly frequencyHz: number;
	/** Wall-clock start, ms since the epoch. */
	readonly startTimeMs: number;
	readonly durationMs: number;
	readonly lostSamples: number;
}

/**
 * The sample types written for each unit, and the values of one sample of
 * value `v` given the sampling period. Pyroscope and Grafana read CPU time
 * from `cpu/nanoseconds`; tsprof reads the first type back.
 */
export const SAMPLE_TYPES: Readonly<
	Record<Unit, { types: readonly (readonly [string, string])[]; values: (v: number, periodNs: number) => number[] }>
> = {
	samples: {
		types: [
			["samples", "count"],
			["cpu", "nanoseconds"],
		],
		values: (v, periodNs) => [v, v * periodNs],
	},
	nanoseconds: { types: [["off_cpu", "nanoseconds"]], values: (v) => [v] },
};

// profile.proto field numbers.
const P = { sampleType: 1, sample: 2, mapping: 3, location: 4, function: 5, stringTable: 6, timeNanos: 9, durationNanos: 10, periodType: 11, period: 12, comment: 13 };

export function periodNs(frequencyHz: number): number {
	return frequencyHz > 0 ? Math.round(1e9 / frequencyHz) : 0;
}

/** Whole nanoseconds of `ms`, exact for epoch times (bigint). */
export function msToNs(ms: number): bigint {
	if (!Number.isFinite(ms) || ms <= 0) return 0n;
	const whole = Math.floor(ms);
	return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/** Encodes a profile chunk by chunk; its tables persist between chunks. */
export class PprofEncoder {
	readonly #strings = new Map<string, number>([["", 0]]);
	// String 0 must be "", written with the first chunk.
	#newStrings: string[] = [""];
	readonly #mappingIds = new Map<string, number>();
	readonly #functionIds = new Map<string, number>();
	readonly #locationIds = new Map<string, number>();
	// Frames are mostly shared objects (symbol caches): their identity skips the key.
	readonly #frameIds = new Map<Frame, number>();
	/** Location ids of a frames array: stacks the session named before come back as the same array. */
	readonly #stackIds = new WeakMap<readonly Frame[], number[]>();
	/** Mapping, function and location fields found since the last chunk. */
	readonly #tables = new ProtoWriter();
	readonly #sub = new ProtoWriter();
	readonly #sub2 = new ProtoWriter();
	#chunks = 0;

	/** Chunks written so far. */
	get chunks(): number {
		return this.#chunks;
	}

	#str(s: string): number {
		let id = this.#strings.get(s);
		if (id === undefined) {
			id = this.#strings.size;
			this.#strings.set(s, id);
			this.#newStrings.push(s);
		}
		return id;
	}

	#mappingId(f: Frame): number {
		const file = f.kernel ? KERNEL_MODULE : f.module;
		const r = f.mapping;
		const key = r ? `${file}\0${f.buildId ?? ""}\0${r.start}\0${r.limit}\0${r.offset}` : `${file}\0${f.buildId ?? ""}`;
		let id = this.#mappingIds.get(key);
		if (id !== undefined) return id;
		id = this.#mappingIds.size + 1;
		this.#mappingIds.set(key, id);
		const m = this.#sub;
		m.uint(1, id);
		m.uint(2, r?.start ?? 0);
		m.uint(3, r?.limit ?? 0);
		m.uint(4, r?.offset ?? 0);
		m.uint(5, this.#str(file));
		m.uint(6, this.#str(f.buildId ?? ""));
		m.uint(7, 1); // has_functions
		this.#tables.message(P.mapping, m);
		return id;
	}

	#functionId(f: Frame): number {
		const key = `${f.name}\0${f.module}`;
		let id = this.#functionIds.get(key);
		if (id !== undefined) return id;
		id = this.#functionIds.size + 1;
		this.#functionIds.set(key, id);
		const name = this.#str(f.name);
		const fn = this.#sub;
		fn.uint(1, id);
		fn.uint(2, name);
		fn.uint(3, name);
		fn.uint(4, this.#str(f.module));
		this.#tables.message(P.function, fn);
		return id;
	}

	#locationId(f: Frame): number {
		let id = this.#frameIds.get(f);
		if (id !== undefined) return id;
		const mid = this.#mappingId(f);
		const key = `${mid}\0${f.address ?? ""}\0${f.name}\0${f.module}`;
		id = this.#locationIds.get(key);
		if (id === undefined) {
			id = this.#locationIds.size + 1;
			this.#locationIds.set(key, id);
			const fid = this.#functionId(f);
			const loc = this.#sub;
			loc.uint(1, id);
			loc.uint(2, mid);
			loc.uint(3, f.address ?? 0);
			this.#sub2.uint(1, fid);
			loc.message(4, this.#sub2);
			this.#tables.message(P.location, loc);
		}
		this.#frameIds.set(f, id);
		return id;
	}

	/**
	 * The next chunk: the header (first chunk only), what the samples
	 * introduce, the samples, and the totals as of `meta`.
	 */
	chunk(samples: Iterable<Sample>, meta: PprofMeta): Uint8Array {
		const out = new ProtoWriter();
		const period = periodNs(meta.frequencyHz);
		const kind = SAMPLE_TYPES[meta.unit];
		const k = {
			pid: this.#str("pid"),
			tid: this.#str("tid"),
			comm: this.#str("comm"),
			exe: this.#str("exe"),
			start: this.#str("start_ns"),
			wait: this.#str("wait"),
			ns: this.#str("nanoseconds"),
		};
		if (this.#chunks === 0) {
			for (const [type, unit] of kind.types) {
				this.#sub.uint(1, this.#str(type));
				this.#sub.uint(2, this.#str(unit));
				out.message(P.sampleType, this.#sub);
			}
			out.uint(P.timeNanos, msToNs(meta.startTimeMs));
			this.#sub.uint(1, this.#str("cpu"));
			this.#sub.uint(2, k.ns);
			out.message(P.periodType, this.#sub);
			out.uint(P.period, period);
		}
		const body = new ProtoWriter();
		for (const s of samples) {
			let ids = this.#stackIds.get(s.frames);
			if (ids === undefined) {
				ids = s.frames.map((f) => this.#locationId(f));
				this.#stackIds.set(s.frames, ids);
			}
			const sample = this.#sub;
			sample.packed(1, ids, this.#sub2);
			const value = Math.max(0, Math.round(s.value));
			sample.packed(2, kind.values(value, period), this.#sub2);
			// Zero and empty labels say nothing; leave them out.
			const label = this.#sub2;
			if (s.pid !== 0) {
				label.uint(1, k.pid);
				label.uint(3, s.pid);
				sample.message(3, label);
			}
			if (s.tid !== 0) {
				label.uint(1, k.tid);
				label.uint(3, s.tid);
				sample.message(3, label);
			}
			if (s.comm !== "") {
				label.uint(1, k.comm);
				label.uint(2, this.#str(s.comm));
				sample.message(3, label);
			}
			if (s.exe !== "") {
				label.uint(1, k.exe);
				label.uint(2, this.#str(s.exe));
				sample.message(3, label);
			}
			if (s.startNs !== 0n) {
				label.uint(1, k.start);
				label.uint(3, s.startNs);
				label.uint(4, k.ns);
				sample.message(3, label);
			}
			if (s.waitReason) {
				label.uint(1, k.wait);
				label.uint(2, this.#str(s.waitReason));
				sample.message(3, label);
			}
			body.message(P.sample, sample);
		}
		const comments = [this.#str(`${LOST_COMMENT}${meta.lostSamples}`)];
		if (meta.frequencyHz > 0) comments.push(this.#str(`${HZ_COMMENT}${meta.frequencyHz}`));

		// Strings last, and tables after the samples: a message cut short then
		// refers to what it lacks, so the reader rejects it instead of
		// reading a plausible prefix.
		out.raw(body.finish());
		out.raw(this.#tables.finish());
		for (const s of this.#newStrings) out.string(P.stringTable, s);
		this.#newStrings = [];
		// A later chunk must be able to restate a zero duration, so write it always.
		out.repeatedUint(P.durationNanos, msToNs(meta.durationMs));
		for (const c of comments) out.repeatedUint(P.comment, c);
		this.#chunks++;
		return out.finish();
	}
}
