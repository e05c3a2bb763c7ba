// Figures the benches print.

/** The median of `values` (the mean of the middle two for an even count). */
export const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Bytes as MiB with one decimal. */
export const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
