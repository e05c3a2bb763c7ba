/**
 * Derived figures of the live view: each a pure function of a count (or two
 * readings) and the period it covers (ARCHITECTURE.md, Conventions).
 */

/** CPU % of one CPU: samples taken at `hz` over `intervalMs`. Can exceed 100 for multi-threaded processes. */
export function cpuPercent(
	samplesInInterval: number,
	hz: number,
	intervalMs: number,
): number {
	if (hz <= 0 || intervalMs <= 0) return 0;
	return (samplesInInterval / (hz * (intervalMs / 1000))) * 100;
}

/** Share of one CPU that tsprof itself used between two `process.cpuUsage()` readings. */
export function selfCpuPercent(
	previous: NodeJS.CpuUsage,
	current: NodeJS.CpuUsage,
	elapsedMs: number,
): number {
	if (elapsedMs <= 0) return 0;
	const usedUs =
		current.user - previous.user + (current.system - previous.system);
	return Math.max(0, (usedUs / 1000 / elapsedMs) * 100);
}

/** Rate of samples per second over an interval. */
export function perSecond(count: number, intervalMs: number): number {
	return intervalMs > 0 ? (count * 1000) / intervalMs : 0;
}
