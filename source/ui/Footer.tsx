import { Text } from "ink";
import { fit } from "./top-format.js";
import { DEFAULT_SORT, type FunctionSort } from "../profile/top/function-table.js";
import type { Mode } from "./keymap.js";

/** Props of {@link Footer}. */
export interface FooterProps {
	readonly mode: Mode;
	readonly width: number;
	/** Shown instead of the hints: a notice from the last key or from the command. */
	readonly message?: string;
	/** The function list's sort column, shown with its key. */
	readonly sort?: FunctionSort;
}

/** Key hints of each mode; `s` comes early so 80 columns still show it. */
export function hints(mode: Mode, sort: FunctionSort = DEFAULT_SORT): string {
	return mode === "normal"
		? `q quit  p pid  / search  s sort:${sort}  Enter select  Tab focus  ↑↓ PgUp/PgDn move  k kernel  space pause  z zero  r record  ? help`
		: HINTS[mode];
}

const HINTS: Record<Exclude<Mode, "normal">, string> = {
	callGraph:
		"Enter follow  Esc back  ↑↓ move  k kernel  space pause  z zero  q quit",
	help: "↑↓ PgUp/PgDn scroll  any other key: back",
	pidPrompt: "Enter apply  Esc cancel",
	search: "Enter keep  Esc clear",
};

/** Key hints for the mode, or a one-line message. */
export function Footer({ mode, width, message, sort }: FooterProps) {
	if (message !== undefined) {
		return (
			<Text wrap="truncate" color="yellow">
				{fit(message, width).trimEnd() || " "}
			</Text>
		);
	}
	return (
		<Text wrap="truncate" dimColor>
			{fit(hints(mode, sort), width).trimEnd()}
		</Text>
	);
}
