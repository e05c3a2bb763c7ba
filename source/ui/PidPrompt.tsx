import { Prompt } from "./Prompt.js";

/** Props of {@link PidPrompt}. */
export interface PidPromptProps {
	readonly value: string;
	/** Why the last Enter was refused (not a pid, no such process). */
	readonly message?: string;
	readonly width: number;
}

/** `p`: pids to filter on, separated by commas or spaces; empty clears the filter. */
export function PidPrompt({ value, message, width }: PidPromptProps) {
	return (
		<Prompt
			label="filter pid(s):"
			value={value}
			message={message}
			width={width}
		/>
	);
}
