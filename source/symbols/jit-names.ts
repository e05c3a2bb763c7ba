/**
 * Turns the names runtimes write into perf maps into what their users read:
 * V8's `JS:*jsHotAlpha /app/x.js:8:20` becomes `jsHotAlpha` in `/app/x.js`,
 * CPython's `py::fib:/app/x.py` becomes `fib` in `/app/x.py`. Names of
 * other runtimes are kept as written.
 */
import { fileURLToPath } from "node:url";

/** A JIT function's name, and the script it comes from when the entry says. */
export interface JitName {
	readonly name: string;
	readonly module?: string;
}

// V8: `JS:` (newer) or `LazyCompile:`, `Function:`, `Script:`, `Eval:`
// (older), then the tier mark (`*` optimized, `~` interpreted, `^` baseline,
// `+` maglev), the function name (empty for anonymous functions), a space and
// the location `file:line:col`.
const V8 = /^(?:JS|LazyCompile|Function|Script|Eval):[*~^+-]?(.*)$/s;
const LOCATION = /^(.*?)(?::\d+){1,2}$/s;
const PYTHON = "py::";

/** An ES module's script is a file: URL; the module is its path, as for a CommonJS script. */
function scriptPath(location: string): string {
	if (!location.startsWith("file://")) return location;
	try {
		return fileURLToPath(location);
	} catch {
		return location;
	}
}

/** Splits a V8 `name location` tail; the location is the last space-separated word. */
function v8(rest: string): JitName {
	const space = rest.lastIndexOf(" ");
	const name = (space < 0 ? rest : rest.slice(0, space)).trim();
	const location = space < 0 ? "" : rest.slice(space + 1);
	const file = scriptPath(LOCATION.exec(location)?.[1] ?? location);
	if (space < 0) return { name: name || "(anonymous)" };
	return { name: name || "(anonymous)", ...(file ? { module: file } : {}) };
}

/** The readable name of a perf map entry. */
export function jitName(raw: string): JitName {
	if (raw.startsWith(PYTHON)) {
		// CPython 3.12: `py::QUALNAME:FILENAME`; a qualname never holds a colon.
		const rest = raw.slice(PYTHON.length);
		const colon = rest.indexOf(":");
		if (colon <= 0) return { name: rest || raw };
		const file = rest.slice(colon + 1);
		return { name: rest.slice(0, colon), ...(file ? { module: file } : {}) };
	}
	const match = V8.exec(raw);
	if (match) return v8(match[1]);
	return { name: raw };
}
