/**
 * A minimal protobuf writer: varints and length-delimited fields into one
 * growing buffer. profile.proto needs nothing else, and writing it by hand
 * lets the recorder keep its encoded tables between checkpoints.
 */
const encoder = new TextEncoder();

/** Appends protobuf fields; `finish()` returns the bytes written so far. */
export class ProtoWriter {
	#buf = new Uint8Array(256);
	#len = 0;

	get length(): number {
		return this.#len;
	}

	#room(n: number): void {
		if (this.#len + n <= this.#buf.length) return;
		let size = this.#buf.length * 2;
		while (size < this.#len + n) size *= 2;
		const bigger = new Uint8Array(size);
		bigger.set(this.#buf.subarray(0, this.#len));
		this.#buf = bigger;
	}

	/** A bare varint; `v` is a non-negative integer. */
	varint(v: number | bigint): void {
		this.#room(10);
		const buf = this.#buf;
		if (typeof v === "bigint") {
			if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return this.varint(Number(v));
			let x = BigInt.asUintN(64, v);
			while (x >= 0x80n) {
				buf[this.#len++] = Number(x & 0x7fn) | 0x80;
				x >>= 7n;
			}
			buf[this.#len++] = Number(x);
			return;
		}
		while (v >= 0x80) {
			buf[this.#len++] = (v % 0x80) | 0x80;
			v = Math.floor(v / 0x80);
		}
		buf[this.#len++] = v;
	}

	/** A varint field; zero is the default and is left out, as proto3 does. */
	uint(field: number, v: number | bigint): void {
		if (v === 0 || v === 0n) return;
		this.varint(field << 3);
		this.varint(v);
	}

	/** A varint field written even when zero (an entry of a repeated field). */
	repeatedUint(field: number, v: number | bigint): void {
		this.varint(field << 3);
		this.varint(v);
	}

	bytes(field: number, b: Uint8Array): void {
		this.varint((field << 3) | 2);
		this.varint(b.length);
		this.raw(b);
	}

	string(field: number, s: string): void {
		this.bytes(field, encoder.encode(s));
	}

	/** Writes what `sub` holds as field `field`, then empties `sub`. */
	message(field: number, sub: ProtoWriter): void {
		this.varint((field << 3) | 2);
		this.varint(sub.#len);
		this.raw(sub.#buf.subarray(0, sub.#len));
		sub.#len = 0;
	}

	/** A packed repeated varint field (nothing when empty). */
	packed(field: number, values: readonly number[], scratch: ProtoWriter): void {
		if (values.length === 0) return;
		for (const v of values) scratch.varint(v);
		this.message(field, scratch);
	}

	raw(b: Uint8Array): void {
		this.#room(b.length);
		this.#buf.set(b, this.#len);
		this.#len += b.length;
	}

	/** A copy of the bytes written; the writer is emptied for reuse. */
	finish(): Uint8Array {
		const out = this.#buf.slice(0, this.#len);
		this.#len = 0;
		return out;
	}
}
