/** A small, realistic profile for the output tests: two processes, user, kernel and JIT frames. */
import type { Frame, Profile, Sample } from "../../source/profile/model.js";
import { kernelFrame, userFrame } from "./frames.js";

const EXE = "/opt/work/ratio";
export const F = {
	main: { ...userFrame("main", EXE), address: 0x401000n, buildId: "aa11", mapping: { start: 0x400000n, limit: 0x402000n, offset: 0n } },
	loop: { ...userFrame("work_loop", EXE), address: 0x401100n },
	alpha: { ...userFrame("hot_alpha", EXE), address: 0x401200n },
	beta: { ...userFrame("hot_beta", EXE), address: 0x401300n },
	syscall: kernelFrame("do_syscall_64"),
	js: userFrame("JS:*jsHot", "/tmp/perf-77.map"),
	unknown: userFrame("[unknown] 0x7f0000001234 (no symbol)", "/usr/lib/libz.so.1"),
} satisfies Record<string, Frame>;

export function sample(pid: number, tid: number, comm: string, frames: Frame[], value: number): Sample {
	return { pid, tid, startNs: BigInt(pid) * 1000n, comm, exe: comm === "node" ? "/usr/bin/node" : EXE, frames, value };
}

/** ratio burns hot_alpha 3:1 against hot_beta; node runs JIT code and a syscall. */
export function fixtureProfile(): Profile {
	return {
		unit: "samples",
		frequencyHz: 99,
		startTimeMs: 1_700_000_000_000,
		durationMs: 4000,
		lostSamples: 2,
		samples: [
			sample(42, 42, "ratio", [F.alpha, F.loop, F.main], 300),
			sample(42, 43, "ratio", [F.beta, F.loop, F.main], 100),
			sample(42, 42, "ratio", [F.syscall, F.alpha, F.loop, F.main], 4),
			sample(77, 77, "node", [F.js, F.main], 50),
			sample(77, 78, "node", [F.unknown], 6),
		],
	};
}
