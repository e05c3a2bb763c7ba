import { Text } from "ink";

/** Props of {@link Prompt}. */
export interface PromptProps {
	/** What is asked, e.g. `pid(s):`. */
	readonly label: string;
	/** Text typed so far. */
	readonly value: string;
	/** An error about the last attempt, shown after the value. */
	readonly message?: string;
	readonly width: number;
}

/** A one-line input in the footer (pid filter, function search). */
export function Prompt({ label, value, message, width }: PromptProps) {
	const after = message === undefined ? "" : `  ${message}`;
	// Keeps the end of a long value in sight, where the typing happens.
	const room = Math.max(1, width - label.length - after.length - 2);
	const shown =
		value.length > room ? `…${value.slice(value.length - room + 1)}` : value;
	return (
		<Text wrap="truncate">
			<Text bold color="cyan">
				{label}{" "}
			</Text>
			<Text>{shown}</Text>
			<Text inverse> </Text>
			<Text color="yellow">{after}</Text>
		</Text>
	);
}
