/**
 * Imported by the UI tests: while they run, every frame Ink draws is
 * computed both by tsprof's fast Output (as `tsprof top` draws) and by Ink's
 * own, and any difference is kept for {@link inkOutputMismatches}.
 */
import {
	fastFrame,
	type InkFrame,
	type InkOutput,
	inkOutputClass,
} from "../../source/ui/ink-output.js";

const Output = await inkOutputClass();
const own = Output.prototype.get;

/** Frames the fast path drew, and those where it differed from Ink's. */
export const inkOutputChecks = { fast: 0, fellBack: 0, mismatches: [] as { fast: string; ink: string }[] };

Output.prototype.get = function checked(this: InkOutput): InkFrame {
	const ink = own.call(this);
	const fast = fastFrame(this);
	if (fast === undefined) inkOutputChecks.fellBack++;
	else {
		inkOutputChecks.fast++;
		if (fast.output !== ink.output || fast.height !== ink.height)
			inkOutputChecks.mismatches.push({ fast: fast.output, ink: ink.output });
	}
	return ink;
};
