/**
 * Marks the column header of the focused list with `▸`, so focus shows
 * without colours too (NO_COLOR, a monochrome terminal).
 */
export function focusMark(header: string, focused: boolean): string {
	return focused ? `▸${header.slice(1)}` : header;
}
