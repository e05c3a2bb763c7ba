import { useStdout } from "ink";
import { useEffect, useState } from "react";

/** Terminal size in character cells. */
export interface WindowSize {
	readonly columns: number;
	readonly rows: number;
}

/** Streams that are not terminals (tests, pipes) have no size: assume the classic 80×24. */
function read(stdout: NodeJS.WriteStream): WindowSize {
	return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

/**
 * The size of Ink's stdout, updated on 'resize'. Ink re-lays out on resize by
 * itself only outside CI, and never tells components; the row budget needs
 * to know.
 */
export function useWindowSize(): WindowSize {
	const { stdout } = useStdout();
	const [size, setSize] = useState(() => read(stdout));
	useEffect(() => {
		const onResize = () => {
			setSize((previous) => {
				const next = read(stdout);
				return next.columns === previous.columns && next.rows === previous.rows
					? previous
					: next;
			});
		};
		// The size may have changed between the first render and this effect.
		onResize();
		stdout.on("resize", onResize);
		return () => {
			stdout.off("resize", onResize);
		};
	}, [stdout]);
	return size;
}
