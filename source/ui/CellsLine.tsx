import { Box, Text } from "ink";
import { type Cells, cellsLine } from "./top-format.js";

/** Props of {@link CellsLine}. */
export interface CellsLineProps {
	readonly cells: Cells;
	readonly width: number;
	readonly color?: string;
	readonly dimColor?: boolean;
	readonly bold?: boolean;
	/** A selection bar: the whole width, blanks included. */
	readonly inverse?: boolean;
}

/**
 * One table row of two cells on a line of its own, where {@link Rows} draws
 * many in one text: for rows whose characters Ink may measure wider than
 * they count. The last cell is placed by layout rather than pushed there
 * with blanks, and trailing blanks are left out (Ink tokenises every
 * character it is given). A selection bar is one padded line.
 */
export function CellsLine({
	cells,
	width,
	color,
	dimColor,
	bold,
	inverse,
}: CellsLineProps) {
	const style = { color, dimColor, bold };
	if (inverse) {
		return (
			<Text wrap="truncate" {...style} inverse>
				{cellsLine(cells, width)}
			</Text>
		);
	}
	if (cells.last === "" || cells.at >= width) {
		return (
			<Text wrap="truncate" {...style}>
				{cellsLine(cells, width).trimEnd()}
			</Text>
		);
	}
	return (
		<Box width={width}>
			<Box width={cells.at} flexShrink={0}>
				<Text wrap="truncate" {...style}>
					{cells.left}
				</Text>
			</Box>
			<Text wrap="truncate" {...style}>
				{cells.last}
			</Text>
		</Box>
	);
}
