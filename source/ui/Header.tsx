import { Text } from "ink";
import {
	type HeaderInfo,
	headerLines,
	type Segment,
	type Tone,
} from "./top-format.js";

/** Props of {@link Header}. */
export interface HeaderProps {
	readonly info: HeaderInfo;
	/** 3 shows everything; 2 drops the sampler housekeeping line (short terminals). */
	readonly lines: number;
}

/** Ink colour props for a tone of the shared text formatter. */
export function toneProps(tone: Tone): {
	color?: string;
	bold?: boolean;
	dimColor?: boolean;
} {
	switch (tone) {
		case "info":
			return { color: "cyan", bold: true };
		case "warn":
			return { color: "yellow" };
		case "alert":
			return { color: "red", bold: true };
		case "dim":
			return { dimColor: true };
		case "plain":
			return {};
	}
}

function Line({ segments }: { readonly segments: readonly Segment[] }) {
	return (
		<Text wrap="truncate">
			{segments.map((s, i) => (
				// biome-ignore lint/suspicious/noArrayIndexKey: segments have no identity but their place.
				<Text key={i} {...toneProps(s.tone)}>
					{s.text}
				</Text>
			))}
		</Text>
	);
}

/** Rates, tsprof's own cost, sampler housekeeping, filters, pause and recording. */
export function Header({ info, lines }: HeaderProps) {
	const [rates = [], housekeeping = [], status = []] = headerLines(info);
	return (
		<>
			<Line segments={rates} />
			{lines >= 3 && <Line segments={housekeeping} />}
			<Line segments={status} />
		</>
	);
}
