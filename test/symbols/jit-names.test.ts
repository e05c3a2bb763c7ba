import assert from "node:assert/strict";
import { test } from "node:test";
import { jitName } from "../../source/symbols/jit-names.js";
import { Reason, reasonOfName, unknownKind, unknownName } from "../../source/symbols/unknown.js";

test("V8 names lose their tier mark and prefix; the script is the module", () => {
	assert.deepEqual(jitName("JS:*jsHotAlpha /work/jit.js:8:20"), { name: "jsHotAlpha", module: "/work/jit.js" });
	assert.deepEqual(jitName("JS:~jsHotBeta /work/jit.js:13:19"), { name: "jsHotBeta", module: "/work/jit.js" });
	assert.deepEqual(jitName("JS:^baseline file:///a/b%20c.mjs:1:2"), { name: "baseline", module: "/a/b c.mjs" });
	assert.deepEqual(jitName("LazyCompile:~foo /app/x.js:1"), { name: "foo", module: "/app/x.js" });
	assert.deepEqual(jitName("JS:~ node:internal/main/run_main_module:1:1"), { name: "(anonymous)", module: "node:internal/main/run_main_module" });
	assert.deepEqual(jitName("JS:*noLocation"), { name: "noLocation" });
});

test("CPython's py::NAME:FILE gives NAME in FILE", () => {
	assert.deepEqual(jitName("py::fib:/srv/x.py"), { name: "fib", module: "/srv/x.py" });
	assert.deepEqual(jitName("py::Klass.method:/srv/y.py"), { name: "Klass.method", module: "/srv/y.py" });
	assert.deepEqual(jitName("py::<module>:<stdin>"), { name: "<module>", module: "<stdin>" });
});

test("other runtimes' names are kept as written", () => {
	assert.deepEqual(jitName("Builtin: ArgumentsAdaptorTrampoline"), { name: "Builtin: ArgumentsAdaptorTrampoline" });
	assert.deepEqual(jitName("Ljava/lang/String;::hashCode"), { name: "Ljava/lang/String;::hashCode" });
});

test("reasons: every kind round-trips through a frame's name", () => {
	const reasons = [
		[Reason.noSymbols(), "no-symbols"],
		[Reason.stripped(), "stripped"],
		[Reason.jitNode(), "jit"],
		[Reason.jitRefused("/tmp/perf-1.map is a symlink"), "jit"],
		[Reason.noMapping("none was captured for the process"), "no-mapping"],
		[Reason.unreadable("ENOENT"), "unreadable"],
		[Reason.truncated("depth limit"), "truncated"],
	] as const;
	for (const [reason, kind] of reasons) {
		const name = unknownName(0x7f00n, reason);
		assert.equal(name, `[unknown] 0x7f00 (${reason})`);
		assert.equal(reasonOfName(name), reason);
		assert.equal(unknownKind(reason), kind);
	}
	assert.equal(reasonOfName("[unknown] (no stack (really))"), "no stack (really)");
	assert.equal(reasonOfName("main"), undefined);
	assert.equal(unknownKind("something else"), undefined);
});
