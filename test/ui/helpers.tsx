/** @jsxRuntime automatic */
/** @jsxImportSource react */

import { stripVTControlCharacters } from "node:util";
import { render } from "ink-testing-library";
import type { LiveBatch } from "../../source/profile/live.js";
import { DEFAULT_CONFIG, type TopConfig, type TopData } from "../../source/profile/top/window.js";
import { App, type AppProps } from "../../source/ui/App.js";
import { STATS } from "./fake-source.js";
import { intervalsToData } from "../helpers/top-data.js";

export const CONFIG: TopConfig = { ...DEFAULT_CONFIG, frequencyHz: 100 };

/** Each list of batches becomes one 1 s interval. */
export const dataOf = (intervals: readonly (readonly LiveBatch[])[], from?: TopData): TopData => intervalsToData(intervals, CONFIG, from);

export const KEY = {
	up: "\u001B[A",
	down: "\u001B[B",
	left: "\u001B[D",
	pageUp: "\u001B[5~",
	pageDown: "\u001B[6~",
	enter: "\r",
	escape: "\u001B",
	tab: "\t",
	backspace: "\u007F",
	ctrlC: "\u0003",
} as const;

/** SGR attributes as Ink writes them with FORCE_COLOR. */
export const INVERSE = "\u001B[7m";
export const BOLD = "\u001B[1m";
export const DIM = "\u001B[2m";
export const RED = "\u001B[31m";
export const GREEN = "\u001B[32m";

/** A frame without colours and attributes. */
export function plain(frame: string | undefined): string {
	return stripVTControlCharacters(frame ?? "");
}

function linesWith(attribute: string, frame: string | undefined): string[] {
	return (frame ?? "")
		.split("\n")
		.filter((line) => line.includes(attribute))
		.map((line) => plain(line).trim());
}

/** Lines of a frame that carry the inverse attribute (the selection), as plain text. */
export function inverseLines(frame: string | undefined): string[] {
	return linesWith(INVERSE, frame);
}

/** Lines of a frame that are bold (the selection of an unfocused list), as plain text. */
export function boldLines(frame: string | undefined): string[] {
	return linesWith(BOLD, frame);
}

/** Lets Ink parse the input (a lone Esc waits one setImmediate) and React render. */
export async function settle(): Promise<void> {
	for (let i = 0; i < 3; i++)
		await new Promise((resolve) => setImmediate(resolve));
}

/** Calls made to the App's callbacks. */
export interface Calls {
	quit: number;
	zero: number;
	toggleRecording: number;
}

/** Renders the App with fakes for everything the command would pass. */
export function renderApp(props: Partial<AppProps> & { data: TopData }) {
	const calls: Calls = { quit: 0, zero: 0, toggleRecording: 0 };
	const element = (over: Partial<AppProps> = {}) => (
		<App
			stats={STATS}
			selfCpuPercent={1.5}
			selfRssBytes={50 * 1024 * 1024}
			pidExists={(pid) => pid === 100 || pid === 200}
			onQuit={() => calls.quit++}
			onZero={() => calls.zero++}
			onToggleRecording={() => calls.toggleRecording++}
			{...props}
			{...over}
		/>
	);
	const instance = render(element());
	return {
		...instance,
		calls,
		/** Presses each key in turn, letting the view settle after each. */
		async press(...keys: string[]) {
			for (const key of keys) {
				instance.stdin.write(key);
				await settle();
			}
		},
		/** New props, as the command's refresh would pass them. */
		update(over: Partial<AppProps>) {
			instance.rerender(element(over));
		},
		text: () => plain(instance.lastFrame()),
	};
}
