/**
 * A LiveSource over a finished recording, so `top --input FILE` shows a
 * recording through the same view as live data: all of it, in one batch.
 */
import type { LiveBatch, LiveSource } from "./live.js";
import type { Profile } from "./model.js";

export function replaySource(profile: Profile): LiveSource {
	const listeners = new Set<(b: LiveBatch) => void>();
	const pids = new Set(profile.samples.map((s) => s.pid));
	const total = profile.samples.reduce((n, s) => n + s.value, 0);
	let delivered = false;
	return {
		subscribe(listener) {
			listeners.add(listener);
			if (!delivered) {
				delivered = true;
				// After the caller's subscribe returns, as a live drain would.
				queueMicrotask(() =>
					listener({
						samples: profile.samples,
						exited: [],
						timeMs: Date.now(),
					}),
				);
			}
			return () => listeners.delete(listener);
		},
		stats: () => ({
			frequencyHz: profile.frequencyHz,
			cpus: 0,
			samples: total,
			lostSamples: profile.lostSamples,
			processesSeen: pids.size,
			deferredProcesses: 0,
			mapCleanup: { batchDeletes: 0, fallbackDeletes: 0, failures: 0 },
		}),
		pidExists: (pid) => pids.has(pid),
		close: async () => {},
	};
}
