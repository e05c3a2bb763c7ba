/**
 * Brendan Gregg's folded stacks, the input of flamegraph.pl, inferno and
 * speedscope: one line per distinct stack, `comm;outermost;...;innermost N`.
 */
import type { Sample } from "../profile/model.js";

/**
 * Folds `samples` into lines sorted by stack, identical stacks of any thread
 * or process with the same comm summed. A sample with no frames yields a
 * line with the comm alone.
 */
export function formatFolded(samples: readonly Sample[]): string {
	const counts = new Map<string, number>();
	for (const s of samples) {
		let line = foldedName(s.comm || "[unknown]");
		for (let i = s.frames.length - 1; i >= 0; i--) {
			line += `;${foldedName((s.frames[i] as Sample["frames"][number]).name)}`;
		}
		counts.set(line, (counts.get(line) ?? 0) + s.value);
	}
	const lines = [...counts.keys()].sort();
	let out = "";
	for (const line of lines) out += `${line} ${counts.get(line)}\n`;
	return out;
}

/**
 * `;` separates frames and a newline separates stacks, so neither may
 * appear inside a name. Spaces may: the count is after the last one.
 */
function foldedName(name: string): string {
	return /[;\r\n]/.test(name)
		? name.replace(/;/g, ":").replace(/[\r\n]+/g, " ")
		: name;
}
