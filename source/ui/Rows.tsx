import { Box, Text } from "ink";
import { createElement, type ReactNode } from "react";
import { type Cells, cellsLine, fit } from "./top-format.js";
import { CellsLine } from "./CellsLine.js";
import { NARROW_MARKS } from "./ink-output.js";

/** How one row stands out. */
export interface RowStyle {
	readonly color?: string;
	readonly dimColor?: boolean;
	readonly bold?: boolean;
	/** A selection bar across the whole width. */
	readonly inverse?: boolean;
}

/** One row of a table: its cells and its style. */
export interface Row {
	readonly cells: Cells;
	readonly style: RowStyle;
}

/** Props of {@link Rows}. */
export interface RowsProps {
	readonly rows: readonly Row[];
	readonly width: number;
	/** Lines to take whatever the number of rows (blank below them); by default as many as there are rows. */
	readonly height?: number;
	/** Shown dimmed in place of the rows when there are none. */
	readonly empty?: string;
}

/**
 * Printable ASCII and the few marks top writes itself: one column each for
 * Ink too, so a line cut by `fit` is never wider than Ink thinks it is.
 */
const NARROW = new RegExp(`^[\\x20-\\x7e${NARROW_MARKS}]*$`);

function plain(style: RowStyle): boolean {
	return !(style.color || style.dimColor || style.bold || style.inverse);
}

/**
 * The children of a text of many lines: runs of unstyled lines joined into
 * one string, styled lines as nested texts (which Ink lays out as part of
 * the outer one, at no cost of their own).
 */
function lines(rows: readonly Row[], text: (row: Row) => string): ReactNode[] {
	const out: ReactNode[] = [];
	let run = "";
	rows.forEach((row, i) => {
		const line = text(row);
		const separator = i === 0 ? "" : "\n";
		if (plain(row.style)) {
			run += separator + line;
			return;
		}
		if (run + separator !== "") out.push(run + separator);
		run = "";
		out.push(
			// biome-ignore lint/suspicious/noArrayIndexKey: by screen line.
			<Text key={i} {...row.style}>
				{line}
			</Text>,
		);
	});
	if (run !== "") out.push(run);
	return out;
}

/**
 * The rows of a table, redrawn every refresh, in as few Ink nodes as
 * possible: one text for the rows' first cells and one for their last
 * cells, placed side by side. Ink's cost grows with its nodes (reconciling,
 * laying out, measuring, writing each), and a box and two texts per row
 * were about two thirds of a frame at 1 Hz. Blanks are never written: not
 * between a short name and its module, not after the last cell.
 *
 * A row whose text Ink could measure wider than `fit` did (wide or
 * combining characters) would make Ink cut the whole text, so then every
 * row gets its own line instead.
 */
export function Rows({ rows, width, height, empty }: RowsProps) {
	if (rows.length === 0) {
		return (
			<Box height={height} width={width}>
				{empty !== undefined && (height ?? 1) > 0 && (
					<Text wrap="truncate" dimColor>
						{empty}
					</Text>
				)}
			</Box>
		);
	}
	const at = rows[0]?.cells.at ?? width;
	const simple = rows.every(
		(r) =>
			r.cells.at === at &&
			NARROW.test(r.cells.left) &&
			NARROW.test(r.cells.last),
	);
	if (!simple) {
		return (
			<Box flexDirection="column" height={height} width={width}>
				{rows.map((row, i) => (
					<CellsLine
						// biome-ignore lint/suspicious/noArrayIndexKey: by screen line.
						key={i}
						cells={row.cells}
						width={width}
						{...row.style}
					/>
				))}
			</Box>
		);
	}
	if (at >= width || rows.every((r) => r.cells.last === "")) {
		return (
			<Box height={height} width={width}>
				<Text>
					{lines(rows, (r) =>
						r.style.inverse
							? cellsLine(r.cells, width)
							: cellsLine(r.cells, width).trimEnd(),
					)}
				</Text>
			</Box>
		);
	}
	return (
		<Box height={height} width={width}>
			<SizedText width={at} height={rows.length}>
				{lines(rows, (r) =>
					r.style.inverse ? fit(r.cells.left, at) : r.cells.left,
				)}
			</SizedText>
			<SizedText width={width - at} height={rows.length}>
				{lines(rows, (r) =>
					r.style.inverse ? fit(r.cells.last, width - at) : r.cells.last,
				)}
			</SizedText>
		</Box>
	);
}

/**
 * A text of a size known in advance, which Ink then never measures: Ink
 * 6.8 keeps every text it has measured in a cache for the life of the
 * process, and a table's text is new every refresh (about 45 MB an hour at
 * 160×45), besides costing a width computation per line. Ink's own `Text`
 * has no size, so this is its host element with one: the lines must fit,
 * which `fit` and the table's columns see to.
 */
function SizedText({
	width,
	height,
	children,
}: {
	width: number;
	height: number;
	children: ReactNode;
}) {
	return createElement(
		"ink-text",
		{
			style: {
				width,
				height,
				flexGrow: 0,
				flexShrink: 0,
				flexDirection: "row",
				textWrap: "wrap",
			},
		},
		children,
	);
}
