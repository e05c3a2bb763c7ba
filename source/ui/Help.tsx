import { Text } from "ink";
import { clampHelpOffset, type HelpLine, helpText } from "./help-text.js";
import { fit } from "./top-format.js";

/** Props of {@link Help}. */
export interface HelpProps {
	/** Lines available. */
	readonly height: number;
	readonly width: number;
	/** First line shown (the help scrolls); clamped to the last page. */
	readonly offset?: number;
}

/**
 * The help screen: keys, and what unknown frames mean. When it is taller
 * than `height`, its last line says how much more there is and how to
 * scroll; any other key closes it.
 */
export function Help({ height, width, offset = 0 }: HelpProps) {
	const all = helpText(width);
	const rows = Math.max(0, height);
	const top = clampHelpOffset(offset, all.length, rows);
	let shown: readonly HelpLine[] = all.slice(top, top + rows);
	const below = all.length - top - rows;
	if (below > 0 && rows > 0) {
		shown = [...shown.slice(0, -1), { text: `  ↓ ${below + 1} more lines: ↑ ↓ PgUp PgDn scroll` }];
	}
	return (
		<>
			{shown.map((line, i) => (
				// biome-ignore lint/suspicious/noArrayIndexKey: static text, its order is its identity.
				<Text key={i} wrap="truncate" bold={line.heading === true} dimColor={below > 0 && i === shown.length - 1}>
					{fit(line.text, width).trimEnd() || " "}
				</Text>
			))}
		</>
	);
}
