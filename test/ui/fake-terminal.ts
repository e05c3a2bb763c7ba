/**
 * Streams that pass for a terminal, for running the whole `top` command in a
 * test: what it writes is kept, keys are written in.
 */
import { EventEmitter } from "node:events";

/** A terminal's output side: a size, isTTY, and everything written. */
export class FakeTtyOut extends EventEmitter {
	readonly isTTY: boolean;
	columns: number;
	rows: number;
	readonly chunks: string[] = [];
	/** Also copy writes here (a child process passes its real stdout). */
	readonly #tee?: (chunk: string) => void;

	constructor(
		options: {
			columns?: number;
			rows?: number;
			isTTY?: boolean;
			tee?: (chunk: string) => void;
		} = {},
	) {
		super();
		this.isTTY = options.isTTY ?? true;
		this.columns = options.columns ?? 100;
		this.rows = options.rows ?? 30;
		this.#tee = options.tee;
	}

	write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
		const text =
			typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
		this.chunks.push(text);
		this.#tee?.(text);
		const callback = rest.find((r) => typeof r === "function") as
			| (() => void)
			| undefined;
		callback?.();
		return true;
	};

	get output(): string {
		return this.chunks.join("");
	}

	/** Resizes and tells listeners, as a terminal does. */
	resize(columns: number, rows: number): void {
		this.columns = columns;
		this.rows = rows;
		this.emit("resize");
	}
}

/** A terminal's input side: raw mode is recorded, keys come from write(). */
export class FakeTtyIn extends EventEmitter {
	readonly isTTY = true;
	isRaw = false;
	rawModeCalls: boolean[] = [];
	#queue: string[] = [];

	write(data: string): void {
		this.#queue.push(data);
		this.emit("readable");
	}

	read(): string | null {
		return this.#queue.shift() ?? null;
	}

	setRawMode(mode: boolean): this {
		this.isRaw = mode;
		this.rawModeCalls.push(mode);
		return this;
	}

	setEncoding(): this {
		return this;
	}

	ref(): this {
		return this;
	}

	unref(): this {
		return this;
	}

	resume(): this {
		return this;
	}

	pause(): this {
		return this;
	}
}

/** Resolves once `predicate` holds, polling; rejects after `ms`. */
export async function until(
	predicate: () => boolean,
	ms = 3000,
	what = "condition",
): Promise<void> {
	const deadline = Date.now() + ms;
	while (!predicate()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}
