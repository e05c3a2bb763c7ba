/**
 * Pushes profiles to a Pyroscope-compatible backend through its HTTP ingest
 * API: `POST /ingest?name=APP{k=v,...}&from=S&until=S&format=pprof&...`
 * with the gzipped pprof profile as the `profile` part of a multipart form.
 * Every interval's samples become one profile (per-process labels stay
 * pprof labels). Sending never blocks sampling: profiles wait in a bounded
 * queue, one request is in flight at a time, failures are retried with
 * backoff, and when the queue is full the oldest profile is dropped and
 * counted.
 */
import type { Sample, Unit } from "../profile/model.js";
import { Recorder } from "../profile/recorder.js";
import { encodeProfile } from "./pprof.js";

/** What `--push`, `--push-interval`, `--app` and `--label` ask for. */
export interface PushConfig {
	/** The server's base URL; `/ingest` is appended. */
	readonly url: string;
	readonly app: string;
	readonly labels: readonly (readonly [string, string])[];
	readonly intervalS: number;
	/** Profiles kept while the server does not take them. */
	readonly queueLimit?: number;
	/** The Authorization header's value, from the environment (see `pushAuthFromEnv`). */
	readonly authorization?: string;
}

/** Environment variables that carry the credentials: never the command line. */
export const PUSH_TOKEN_ENV = "TSPROF_PUSH_TOKEN";
export const PUSH_BASIC_AUTH_ENV = "TSPROF_PUSH_BASIC_AUTH";

/** `Bearer TOKEN` or `Basic base64(user:password)` from the environment, if set. */
export function pushAuthFromEnv(env: NodeJS.ProcessEnv): string | undefined {
	const token = env[PUSH_TOKEN_ENV];
	if (token) return `Bearer ${token}`;
	const basic = env[PUSH_BASIC_AUTH_ENV];
	if (basic) return `Basic ${Buffer.from(basic).toString("base64")}`;
	return undefined;
}

/** Pyroscope's series name: `app{k=v,...}`. */
export function seriesName(app: string, labels: PushConfig["labels"]): string {
	return `${app}{${labels.map(([k, v]) => `${k}=${v}`).join(",")}}`;
}

/** What the pusher did so far. */
export interface PushStats {
	readonly sent: number;
	readonly queued: number;
	/** Profiles dropped because the queue was full, and the samples they held. */
	readonly dropped: number;
	readonly droppedSamples: number;
	readonly failures: number;
	readonly lastError?: string;
}

export function pushSummary(s: PushStats): string {
	const error = s.lastError && s.queued + s.dropped > 0 ? ` (last error: ${s.lastError})` : "";
	return `pushed ${s.sent} profiles, ${s.queued} queued, ${s.dropped} dropped (${s.droppedSamples} samples)${error}`;
}

interface Pending {
	readonly body: Buffer;
	readonly fromS: number;
	readonly untilS: number;
	readonly samples: number;
}

/** How the pusher reaches the clock and the network; tests pass their own. */
export interface PushDeps {
	readonly frequencyHz: number;
	/** What sample values count; CPU samples by default. */
	readonly unit?: Unit;
	/** The sampler's lost count in all. */
	readonly lost: () => number;
	readonly now?: () => number;
	readonly fetch?: typeof fetch;
	/** Backoff after the n-th failure in a row, ms. */
	readonly backoffMs?: (n: number) => number;
	readonly timeoutMs?: number;
}

const DEFAULT_QUEUE = 32;
const defaultBackoff = (n: number) => Math.min(30_000, 500 * 2 ** Math.min(n - 1, 6));

export class Pusher {
	readonly intervalMs: number;
	readonly #config: PushConfig;
	readonly #deps: PushDeps;
	readonly #now: () => number;
	readonly #queue: Pending[] = [];
	#rec: Recorder;
	#sending = false;
	#retryTimer: NodeJS.Timeout | undefined;
	#failuresInRow = 0;
	#closed = false;
	#idle: (() => void)[] = [];
	#stats = { sent: 0, dropped: 0, droppedSamples: 0, failures: 0, lastError: undefined as string | undefined };

	constructor(config: PushConfig, deps: PushDeps) {
		this.#config = config;
		this.#deps = deps;
		this.#now = deps.now ?? Date.now;
		this.intervalMs = config.intervalS * 1000;
		this.#rec = this.#newRecorder();
	}

	#newRecorder(): Recorder {
		return new Recorder("", this.#now(), this.#deps.frequencyHz, this.#deps.lost(), this.#deps.unit);
	}

	add(batch: { readonly samples: readonly Sample[] }): void {
		this.#rec.add(batch);
	}

	/** Ends the current interval: its profile joins the queue, and sending starts. */
	cut(): void {
		const rec = this.#rec;
		const until = this.#now();
		this.#rec = this.#newRecorder();
		if (rec.samples === 0) return;
		this.#enqueue({
			body: encodeProfile(rec.profile(until, this.#deps.lost())),
			fromS: Math.floor(rec.startTimeMs / 1000),
			untilS: Math.max(Math.ceil(until / 1000), Math.floor(rec.startTimeMs / 1000) + 1),
			samples: rec.samples,
		});
	}

	#enqueue(p: Pending): void {
		const limit = this.#config.queueLimit ?? DEFAULT_QUEUE;
		// The oldest goes first: the newest tells more about now.
		while (this.#queue.length >= limit) {
			const old = this.#queue.shift() as Pending;
			this.#stats.dropped++;
			this.#stats.droppedSamples += old.samples;
		}
		this.#queue.push(p);
		this.#pump();
	}

	stats(): PushStats {
		return { ...this.#stats, queued: this.#queue.length };
	}

	#pump(): void {
		if (this.#sending || this.#retryTimer || this.#queue.length === 0) {
			if (!this.#sending && this.#queue.length === 0) this.#settle();
			return;
		}
		const head = this.#queue[0] as Pending;
		this.#sending = true;
		this.#send(head).then(
			() => {
				this.#sending = false;
				this.#failuresInRow = 0;
				// It may have been dropped meanwhile, if the queue overflowed.
				const i = this.#queue.indexOf(head);
				if (i >= 0) this.#queue.splice(i, 1);
				this.#stats.sent++;
				this.#pump();
			},
			(error: Error) => {
				this.#sending = false;
				this.#stats.failures++;
				this.#stats.lastError = error.message;
				this.#failuresInRow++;
				if (this.#closed) return this.#settle();
				const wait = (this.#deps.backoffMs ?? defaultBackoff)(this.#failuresInRow);
				this.#retryTimer = setTimeout(() => {
					this.#retryTimer = undefined;
					this.#pump();
				}, wait);
				this.#retryTimer.unref();
			},
		);
	}

	async #send(p: Pending): Promise<void> {
		const url = new URL("ingest", this.#config.url.endsWith("/") ? this.#config.url : `${this.#config.url}/`);
		const q = url.searchParams;
		q.set("name", seriesName(this.#config.app, this.#config.labels));
		q.set("from", String(p.fromS));
		q.set("until", String(p.untilS));
		q.set("format", "pprof");
		q.set("sampleRate", String(this.#deps.frequencyHz));
		q.set("spyName", "tsprof");
		if ((this.#deps.unit ?? "samples") === "samples") q.set("units", "samples");
		q.set("aggregationType", "sum");
		const form = new FormData();
		form.append("profile", new Blob([new Uint8Array(p.body)]), "profile.pprof");
		const headers: Record<string, string> = {};
		if (this.#config.authorization) headers.authorization = this.#config.authorization;
		const res = await (this.#deps.fetch ?? fetch)(url, {
			method: "POST",
			body: form,
			headers,
			signal: AbortSignal.timeout(this.#deps.timeoutMs ?? 10_000),
		});
		// Drain the body so the connection can be reused.
		await res.arrayBuffer().catch(() => undefined);
		if (!res.ok) throw new Error(`HTTP ${res.status}`);
	}

	#settle(): void {
		if (this.#sending) return;
		for (const done of this.#idle.splice(0)) done();
	}

	/**
	 * Stops retrying, and waits up to `graceMs` for what is queued to be
	 * sent once more; what is still queued then counts as dropped.
	 */
	async close(graceMs = 3000): Promise<void> {
		this.#closed = true;
		if (this.#retryTimer) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = undefined;
			this.#pump();
		}
		if (this.#sending || this.#queue.length > 0) {
			let timer: NodeJS.Timeout | undefined;
			await Promise.race([
				new Promise<void>((resolve) => this.#idle.push(resolve)),
				new Promise<void>((resolve) => {
					timer = setTimeout(resolve, graceMs);
				}),
			]);
			clearTimeout(timer);
		}
		for (const p of this.#queue.splice(0)) {
			this.#stats.dropped++;
			this.#stats.droppedSamples += p.samples;
		}
	}
}
