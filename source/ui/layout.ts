/**
 * How the terminal's rows are shared out. Ink 6.8 flickers as soon as a
 * frame is as tall as the terminal, so everything here adds up to at most
 * `rows - 1`; the tests check that sum for every size.
 */

/** Below this the view shows a one-line message instead of the tables. */
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 12;

/** Rows given to each part of the screen. */
export interface Layout {
	readonly columns: number;
	/** The terminal is smaller than MIN_COLUMNS × MIN_ROWS. */
	readonly tooSmall: boolean;
	/** Header lines: 3, or 2 on short terminals (the housekeeping line goes). */
	readonly header: number;
	/** Everything between header and footer. */
	readonly body: number;
	/** Data rows of the process list (its column header not included). */
	readonly processRows: number;
	/** Data rows of the function list (its column header not included). */
	readonly functionRows: number;
	/** Data rows for callers and for callees in the call-graph panel. */
	readonly callerRows: number;
	readonly calleeRows: number;
	/** The footer: key hints, prompt or message. */
	readonly footer: 1;
}

export function computeLayout(columns: number, rows: number): Layout {
	const tooSmall = columns < MIN_COLUMNS || rows < MIN_ROWS;
	const usable = Math.max(0, rows - 1);
	const header = rows >= 20 ? 3 : 2;
	const footer = 1;
	const body = Math.max(0, usable - header - footer);
	// Two column-header lines for the two lists.
	const listRows = Math.max(0, body - 2);
	const processRows = Math.min(20, Math.max(1, Math.floor(listRows * 0.4)));
	const functionRows = Math.max(0, listRows - processRows);
	// Title plus the two section headers.
	const graphRows = Math.max(0, body - 3);
	const callerRows = Math.floor(graphRows / 2);
	return {
		columns,
		tooSmall,
		header,
		body,
		processRows,
		functionRows,
		callerRows,
		calleeRows: graphRows - callerRows,
		footer,
	};
}
