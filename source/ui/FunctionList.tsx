import { functionCells, functionHeader } from "./top-format.js";
import { DEFAULT_SORT, type FunctionRow, type FunctionSort } from "../profile/top/function-table.js";
import { ListHeader } from "./ListHeader.js";
import type { Cursor } from "./keymap.js";
import { Rows } from "./Rows.js";

/** Props of {@link FunctionList}. */
export interface FunctionListProps {
	readonly rows: readonly FunctionRow[];
	/** Data rows to draw; the column header comes on top of them. */
	readonly height: number;
	readonly width: number;
	/** Already clamped to `rows` and `height`. */
	readonly cursor: Cursor;
	readonly focused: boolean;
	/** The search being applied, to say why the list may be empty. */
	readonly search: string;
	/** The column `rows` are sorted by, marked `▼` in the column header. */
	readonly sort?: FunctionSort;
}

/** perf top's colours: hot rows red, warm rows green. */
function heat(row: FunctionRow): string | undefined {
	if (row.selfPercent >= 5) return "red";
	if (row.selfPercent >= 0.5) return "green";
	return undefined;
}

/**
 * The functions, by total (perf top -g's "Children") or self as `sort` says,
 * `[k]` marking kernel frames; unnamed frames are dimmed. The colour follows
 * self, so the rows that burn the CPU themselves stand out in either order.
 */
export function FunctionList({
	rows,
	height,
	width,
	cursor,
	focused,
	search,
	sort = DEFAULT_SORT,
}: FunctionListProps) {
	const visible = rows.slice(cursor.offset, cursor.offset + height);
	const empty =
		search === "" ? "(no samples yet)" : `(no function matches "${search}")`;
	return (
		<>
			<ListHeader header={functionHeader(width, sort)} focused={focused} />
			{height > 0 && (
				<Rows
					width={width}
					empty={empty}
					rows={visible.map((row, i) => {
						const selected = cursor.offset + i === cursor.index;
						return {
							cells: functionCells(row, width),
							style: {
								color: heat(row),
								dimColor: row.name.startsWith("[unknown]"),
								inverse: selected && focused,
								bold: selected && !focused,
							},
						};
					})}
				/>
			)}
		</>
	);
}
