import { Text } from "ink";
import { fit } from "../profile/top-format.js";
import type { Mode } from "./keymap.js";

/** Props of {@link Footer}. */
export interface FooterProps {
	readonly mode: Mode;
	readonly width: number;
	/** Shown instead of the hints: a notice from the last key or from the command. */
	readonly message?: string;
}

const HINTS: Record<Mode, string> = {
	normal:
		"q quit  p pid  / search  Enter select  Tab focus  ↑↓ PgUp/PgDn move  k kernel  space pause  z zero  r record  ? help",
	callGraph:
		"Enter follow  Esc back  ↑↓ move  k kernel  space pause  z zero  q quit",
	help: "any key: back",
	pidPrompt: "Enter apply  Esc cancel",
	search: "Enter keep  Esc clear",
};

/** Key hints for the mode, or a one-line message. */
export function Footer({ mode, width, message }: FooterProps) {
	if (message !== undefined) {
		return (
			<Text wrap="truncate" color="yellow">
				{fit(message, width)}
			</Text>
		);
	}
	return (
		<Text wrap="truncate" dimColor>
			{fit(HINTS[mode], width)}
		</Text>
	);
}
