import { Text } from "ink";

/** Props of {@link ListHeader}. */
export interface ListHeaderProps {
	/** The column headings, as wide as the list. */
	readonly header: string;
	readonly focused: boolean;
}

/**
 * The column header of a list: green when the list has the focus, a bar
 * otherwise, and marked with `▸` when focused so focus shows without
 * colours too (NO_COLOR, a monochrome terminal).
 */
export function ListHeader({ header, focused }: ListHeaderProps) {
	return (
		<Text
			wrap="truncate"
			bold
			color={focused ? "green" : undefined}
			inverse={!focused}
		>
			{focused ? `▸${header.slice(1)}` : header}
		</Text>
	);
}
