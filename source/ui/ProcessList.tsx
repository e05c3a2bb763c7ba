import { processCells, processHeader } from "./top-format.js";
import { type ProcessRow } from "../profile/top/process-rows.js";
import { ListHeader } from "./ListHeader.js";
import type { Cursor } from "./keymap.js";
import { Rows } from "./Rows.js";

/** Props of {@link ProcessList}. */
export interface ProcessListProps {
	readonly rows: readonly ProcessRow[];
	/** Data rows to draw; the column header comes on top of them. */
	readonly height: number;
	readonly width: number;
	/** Already clamped to `rows` and `height`. */
	readonly cursor: Cursor;
	/** Whether the arrows move in this list (its selection is highlighted). */
	readonly focused: boolean;
	/** The rows hold blocked time, not samples. */
	readonly offCpu?: boolean;
}

/**
 * The process list: exactly `height + 1` lines, so the function list below
 * does not jump as processes come and go. Exited processes are dimmed.
 */
export function ProcessList({
	rows,
	height,
	width,
	cursor,
	focused,
	offCpu = false,
}: ProcessListProps) {
	const visible = rows.slice(cursor.offset, cursor.offset + height);
	return (
		<>
			<ListHeader header={processHeader(width, offCpu)} focused={focused} />
			<Rows
				width={width}
				height={height}
				empty="(no samples yet)"
				rows={visible.map((row, i) => {
					const selected = cursor.offset + i === cursor.index;
					return {
						cells: processCells(row, width, offCpu),
						style: {
							dimColor: row.exited && row.count === 1,
							inverse: selected && focused,
							bold: selected && !focused,
						},
					};
				})}
			/>
		</>
	);
}
