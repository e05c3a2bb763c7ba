import { Text } from "ink";
import { fit } from "./top-format.js";

/** Props of {@link Help}. */
export interface HelpProps {
	/** Lines available; the list is cut to fit. */
	readonly height: number;
	readonly width: number;
}

/** Every key, as the README lists them. */
export const HELP_LINES: readonly (readonly [string, string])[] = [
	["q, Ctrl-C", "quit (the terminal is restored, a recording is written)"],
	["p", "filter by pid: one or more, separated by commas or spaces"],
	[
		"Enter",
		"on a process: filter to it; on a function: its callers and callees",
	],
	["/", "search functions by name (substring, any case)"],
	["s", "sort functions by total (perf top -g's Children) or by self"],
	["Esc", "clear the pid filter and the search; close a panel"],
	["Tab", "move focus between processes and functions"],
	["↑ ↓ PgUp PgDn", "move in the focused list"],
	["Home End", "first / last row"],
	["k", "hide or show kernel frames"],
	["space", "pause the display (sampling goes on)"],
	["z", "zero the counts"],
	["r", "start or stop recording to a file"],
	["o", "switch between on-CPU samples and off-CPU (blocked) time; needs --off-cpu"],
	["?", "this help"],
];

/** The key reference; any key closes it. */
export function Help({ height, width }: HelpProps) {
	const lines = [
		"tsprof top: which functions use the CPU right now, and in which processes.",
		"",
		...HELP_LINES.map(([keys, what]) => `  ${keys.padEnd(16)}${what}`),
	].slice(0, Math.max(0, height));
	return (
		<>
			{lines.map((line, i) => (
				// biome-ignore lint/suspicious/noArrayIndexKey: static text, its order is its identity.
				<Text key={i} wrap="truncate" bold={i === 0}>
					{fit(line, width).trimEnd() || " "}
				</Text>
			))}
		</>
	);
}
