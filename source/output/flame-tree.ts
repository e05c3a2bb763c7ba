/**
 * The call tree a flame graph draws: the process (comm) at the root's level,
 * then callers above callees, siblings merged by function. Pure and shared
 * by the exporters that draw trees.
 */
import type { Frame, Sample } from "../profile/model.js";

/** What kind of code a frame is, for colouring. */
export type FrameKind = "process" | "kernel" | "user" | "jit" | "unknown";

/** One node: a function at one position in the call tree. */
export interface FlameNode {
	readonly name: string;
	readonly module: string;
	readonly kind: FrameKind;
	/** Value of the samples that pass through this node. */
	value: number;
	/** Value of the samples that end here. */
	self: number;
	readonly children: Map<string, FlameNode>;
}

/** JIT code: perf map files name it, and it lives in anonymous memory. */
const JIT_MODULE = /(^|\/)perf-\d+\.map$|^\[anon|^\/\/anon|^\[jit\]|memfd:/;
const JIT_NAME = /^(JS:|py::|LazyCompile:|Builtin:|Interpreter:)/;

export function frameKind(f: Frame): FrameKind {
	if (f.name.startsWith("[unknown]")) return "unknown";
	if (f.kernel) return "kernel";
	if (JIT_MODULE.test(f.module) || JIT_NAME.test(f.name)) return "jit";
	return "user";
}

function node(name: string, module: string, kind: FrameKind): FlameNode {
	return { name, module, kind, value: 0, self: 0, children: new Map() };
}

/** Builds the tree of `samples` under a root named `rootName`. */
export function buildFlameTree(samples: readonly Sample[], rootName = "all"): FlameNode {
	const root = node(rootName, "", "process");
	for (const s of samples) {
		if (s.value <= 0) continue;
		root.value += s.value;
		const comm = s.comm || "[unknown]";
		let at = child(root, `p\0${comm}`, comm, "", "process");
		at.value += s.value;
		for (let i = s.frames.length - 1; i >= 0; i--) {
			const f = s.frames[i] as Frame;
			const kind = frameKind(f);
			at = child(at, `${kind}\0${f.module}\0${f.name}`, f.name, f.module, kind);
			at.value += s.value;
		}
		at.self += s.value;
	}
	return root;
}

function child(parent: FlameNode, key: string, name: string, module: string, kind: FrameKind): FlameNode {
	let c = parent.children.get(key);
	if (c === undefined) {
		c = node(name, module, kind);
		parent.children.set(key, c);
	}
	return c;
}
