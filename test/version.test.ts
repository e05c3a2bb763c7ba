import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { libbpfVersion, type VersionFacts, versionLine } from "../source/commands/version.js";
import { btfStrings, probeFeatures, tsprofFeatures } from "../source/kernel/features.js";

/** A BTF blob with no types and the given strings, little-endian, as on x86-64 and arm64. */
function btf(strings: readonly string[]): Buffer {
	const str = Buffer.from(`\0${strings.join("\0")}\0`);
	const header = Buffer.alloc(24);
	header.writeUInt16LE(0xeb9f, 0);
	header.writeUInt8(1, 2);
	header.writeUInt32LE(24, 4); // hdr_len
	header.writeUInt32LE(0, 8); // type_off
	header.writeUInt32LE(0, 12); // type_len
	header.writeUInt32LE(0, 16); // str_off
	header.writeUInt32LE(str.length, 20);
	return Buffer.concat([header, str]);
}

describe("kernel features from BTF", () => {
	test("a feature is there when all its names are whole strings of the BTF", () => {
		const strings = btfStrings(btf(["BPF_MAP_TYPE_RINGBUF", "BPF_PROG_TYPE_TRACING", "btf_trace_sched_process_exec_x"]));
		assert.ok(strings);
		const found = probeFeatures(strings, [
			{ label: "ring buffer", names: ["BPF_MAP_TYPE_RINGBUF"] },
			{ label: "tp_btf", names: ["BPF_PROG_TYPE_TRACING", "BPF_TRACE_RAW_TP"] },
			{ label: "exec", names: ["btf_trace_sched_process_exec"] },
		]);
		assert.deepEqual([...found], [["ring buffer", true], ["tp_btf", false], ["exec", false]]);
	});

	test("a blob that is not BTF, or whose string section runs past its end, gives nothing", () => {
		assert.equal(btfStrings(Buffer.from("definitely not BTF, just text")), undefined);
		const cut = btf(["BPF_MAP_TYPE_RINGBUF"]);
		assert.equal(btfStrings(cut.subarray(0, cut.length - 4)), undefined);
	});

	test("this kernel's BTF has every feature tsprof uses", { skip: existsSync("/sys/kernel/btf/vmlinux") ? false : "no /sys/kernel/btf/vmlinux" }, () => {
		const strings = btfStrings(readFileSync("/sys/kernel/btf/vmlinux"));
		assert.ok(strings);
		const found = probeFeatures(strings);
		assert.equal(found.size, tsprofFeatures.length);
		assert.deepEqual([...found].filter(([, ok]) => !ok), []);
	});
});

test("libbpfVersion reads the version from the file the soname links to", () => {
	const maps = [
		"7f00 r--p 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6",
		"7f10 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libbpf.so.1",
	].join("\n");
	assert.equal(libbpfVersion(maps, (p) => p.replace(/libbpf\.so\.1$/, "libbpf.so.1.1.2")), "1.1.2");
	assert.equal(libbpfVersion(maps.split("\n")[0]), undefined);
});

describe("versionLine", () => {
	const facts: VersionFacts = {
		version: "0.1.0",
		node: "v20.20.2",
		kernelRelease: "6.18.0",
		arch: "x64",
		kernel: { btf: true, features: new Map([["ring buffer", true], ["perf_event programs", false]]) },
		addon: { kind: "prebuilt linux-x64", libbpf: "1.1.2" },
		canTrace: false,
		root: false,
	};

	test("is one line with every fact a bug report needs", () => {
		assert.equal(
			versionLine(facts),
			"tsprof 0.1.0 (node v20.20.2, Linux 6.18.0 x64): BTF yes, ring buffer yes, perf_event programs no; addon prebuilt linux-x64, libbpf 1.1.2; can trace: no (needs root)",
		);
	});

	test("says why BTF or the addon is missing", () => {
		const line = versionLine({ ...facts, kernel: { btf: false, why: "no /sys/kernel/btf/vmlinux" }, addon: { error: "the tsprof addon needs libbpf.so.1, which is not installed; install it with: apt-get install libbpf1" }, canTrace: true, root: true });
		assert.match(line, /: BTF no \(no \/sys\/kernel\/btf\/vmlinux\); addon: the tsprof addon needs libbpf\.so\.1.+apt-get install libbpf1; can trace: yes \(root\)$/);
		assert.ok(!line.includes("\n"));
	});
});
