/**
 * --push against a local HTTP server that stands in for Pyroscope's ingest
 * API: the request's shape, its body, and what happens when the server is
 * down, slow or failing.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, test } from "node:test";
import { decodeProfile } from "../../source/output/pprof.js";
import { type PushConfig, Pusher, pushAuthFromEnv, seriesName } from "../../source/output/push.js";
import { F, sample } from "../helpers/profiles.js";

interface Received {
	readonly method: string;
	readonly url: URL;
	readonly headers: IncomingMessage["headers"];
	readonly profile: Uint8Array;
}

/** A server on 127.0.0.1 that answers with `status()` after `delayMs()`. */
async function ingestServer(opts: { status?: () => number; delayMs?: () => number; port?: number } = {}) {
	const received: Received[] = [];
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", async () => {
			const body = Buffer.concat(chunks);
			const form = await new Request("http://x/", { method: "POST", headers: { "content-type": req.headers["content-type"] ?? "" }, body }).formData();
			const part = form.get("profile") as Blob;
			const status = opts.status?.() ?? 200;
			if (status === 200) received.push({ method: req.method ?? "", url: new URL(req.url ?? "", "http://127.0.0.1"), headers: req.headers, profile: new Uint8Array(await part.arrayBuffer()) });
			setTimeout(() => res.writeHead(status).end(), opts.delayMs?.() ?? 0);
		});
	});
	await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
	servers.push(server);
	return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const servers: Server[] = [];
afterEach(async () => {
	for (const s of servers.splice(0)) {
		s.closeAllConnections();
		await new Promise((resolve) => s.close(resolve));
	}
});

const waitFor = async (what: string, ok: () => boolean, ms = 5000) => {
	const end = Date.now() + ms;
	while (!ok()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
};

function config(url: string, extra: Partial<PushConfig> = {}): PushConfig {
	return { url, app: "web", labels: [["env", "test"], ["host", "a1"]], intervalS: 10, ...extra };
}

const fast = { frequencyHz: 99, lost: () => 0, backoffMs: () => 20, timeoutMs: 300 };

describe("--push", () => {
	test("POSTs /ingest with Pyroscope's query parameters, auth from the environment, and a pprof body with per-process labels", async () => {
		const srv = await ingestServer();
		let clock = 1_700_000_000_000;
		const auth = pushAuthFromEnv({ TSPROF_PUSH_TOKEN: "s3cret" });
		const pusher = new Pusher(config(srv.url, { authorization: auth }), { ...fast, now: () => clock });
		pusher.add({ samples: [sample(42, 42, "ratio", [F.alpha, F.loop, F.main], 30), sample(42, 43, "ratio", [F.beta, F.loop, F.main], 10)] });
		clock += 10_000;
		pusher.cut();
		await waitFor("the profile", () => srv.received.length === 1);
		const r = srv.received[0] as Received;
		assert.equal(r.method, "POST");
		assert.equal(r.url.pathname, "/ingest");
		const q = Object.fromEntries(r.url.searchParams);
		assert.deepEqual(q, {
			name: "web{env=test,host=a1}",
			from: "1700000000",
			until: "1700000010",
			format: "pprof",
			sampleRate: "99",
			spyName: "tsprof",
			units: "samples",
			aggregationType: "sum",
		});
		assert.equal(r.headers.authorization, "Bearer s3cret");
		assert.match(r.headers["content-type"] ?? "", /^multipart\/form-data; boundary=/);
		const p = decodeProfile(r.profile);
		assert.deepEqual(
			p.samples.map((s) => [s.pid, s.tid, s.comm, s.exe, s.frames.map((f) => f.name).join(">"), s.value]),
			[
				[42, 42, "ratio", "/opt/work/ratio", "hot_alpha>work_loop>main", 30],
				[42, 43, "ratio", "/opt/work/ratio", "hot_beta>work_loop>main", 10],
			],
		);
		assert.equal(p.durationMs, 10_000);
		await waitFor("the answer", () => pusher.stats().sent === 1);
		await pusher.close();
	});

	test("basic auth comes from the environment too; nothing without it", () => {
		assert.equal(pushAuthFromEnv({ TSPROF_PUSH_BASIC_AUTH: "u:p" }), `Basic ${Buffer.from("u:p").toString("base64")}`);
		assert.equal(pushAuthFromEnv({}), undefined);
		assert.equal(seriesName("app", []), "app{}");
	});

	test("a server that is down: profiles wait, up to the bound; the oldest are dropped and counted; the rest arrive in order", async () => {
		// Find a free port, then leave it closed: connections are refused.
		const probe = await ingestServer();
		const port = Number(new URL(probe.url).port);
		probe.server.closeAllConnections();
		await new Promise((resolve) => probe.server.close(resolve));
		servers.length = 0;

		const pusher = new Pusher(config(`http://127.0.0.1:${port}`, { queueLimit: 3 }), fast);
		for (let i = 1; i <= 5; i++) {
			pusher.add({ samples: [sample(42, 42, "ratio", [F.alpha], i)] });
			pusher.cut();
		}
		await waitFor("a failed attempt", () => pusher.stats().failures > 0);
		assert.deepEqual({ ...pusher.stats(), lastError: undefined }, { sent: 0, queued: 3, dropped: 2, droppedSamples: 1 + 2, failures: pusher.stats().failures, lastError: undefined });
		const srv = await ingestServer({ port });
		await waitFor("the queued profiles", () => srv.received.length === 3);
		assert.deepEqual(srv.received.map((r) => decodeProfile(r.profile).samples[0]?.value), [3, 4, 5]);
		await waitFor("the answers", () => pusher.stats().queued === 0);
		await pusher.close();
	});

	test("a server that answers 500, then recovers: nothing is lost below the bound", async () => {
		let failing = 4;
		const srv = await ingestServer({ status: () => (failing-- > 0 ? 500 : 200) });
		const pusher = new Pusher(config(srv.url), fast);
		for (let i = 1; i <= 3; i++) {
			pusher.add({ samples: [sample(42, 42, "ratio", [F.alpha], i)] });
			pusher.cut();
		}
		await waitFor("every profile", () => srv.received.length === 3);
		const s = pusher.stats();
		assert.equal(s.failures, 4);
		assert.equal(s.lastError, "HTTP 500");
		assert.equal(s.dropped, 0);
		assert.deepEqual(srv.received.map((r) => decodeProfile(r.profile).samples[0]?.value), [1, 2, 3]);
		await pusher.close();
	});

	test("a slow server times out and is retried; adding samples never waits for it", async () => {
		let slow = 2;
		const srv = await ingestServer({ delayMs: () => (slow-- > 0 ? 1000 : 0) });
		const pusher = new Pusher(config(srv.url), fast);
		pusher.add({ samples: [sample(42, 42, "ratio", [F.alpha], 7)] });
		pusher.cut();
		const t0 = performance.now();
		for (let i = 0; i < 1000; i++) pusher.add({ samples: [sample(42, 42, "ratio", [F.beta], 1)] });
		assert.ok(performance.now() - t0 < 200, "add() does not block on the network");
		await waitFor("the profile after the timeouts", () => pusher.stats().sent === 1, 8000);
		assert.ok(pusher.stats().failures >= 1);
		await pusher.close();
	});

	test("close() gives a last chance, then counts what is left as dropped", async () => {
		const srv = await ingestServer({ status: () => 503 });
		const pusher = new Pusher(config(srv.url), { ...fast, backoffMs: () => 60_000 });
		pusher.add({ samples: [sample(42, 42, "ratio", [F.alpha], 5)] });
		pusher.cut();
		await waitFor("a failure", () => pusher.stats().failures === 1);
		await pusher.close(500);
		assert.deepEqual([pusher.stats().dropped, pusher.stats().droppedSamples, pusher.stats().queued], [1, 5, 0]);
	});
});
