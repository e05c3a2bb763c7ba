// Pure helpers of the benches: the figures they print, and their inputs.

/** The median of `values` (the mean of the middle two for an even count). */
export const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Bytes as MiB with one decimal. */
export const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** A deterministic PRNG (mulberry32): the same seed gives the same inputs to every build compared. */
export function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
