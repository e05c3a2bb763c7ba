/**
 * Builds the stack-dump fixture and reads what it captured, and reads
 * readelf's interpretation of a file's frames, for the unwinder tests.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Image, parseProcMaps } from "../../source/process/image.js";

export const FIXTURE_C = fileURLToPath(new URL("../fixtures/unwind-dump.c", import.meta.url));

/** gcc flags of a build without frame pointers, as the fixtures use. */
export const NO_FP = ["-O2", "-fomit-frame-pointer", "-fno-optimize-sibling-calls", "-fno-inline"];

export function haveTools(): boolean {
	try {
		execFileSync("sh", ["-c", "command -v gcc && command -v readelf"], { stdio: "ignore" });
		return true;
	} catch {
		return false;
	}
}

/** Compiles the fixture into `dir/name` with `flags`. */
export function buildFixture(dir: string, name: string, flags: readonly string[]): string {
	const out = join(dir, name);
	execFileSync("gcc", [...flags, "-o", out, FIXTURE_C]);
	return out;
}

/** One captured stack: registers, the copy of the stack above sp, and the process's mappings. */
export interface Capture {
	readonly ip: bigint;
	readonly sp: bigint;
	readonly bp: bigint;
	readonly stack: Uint8Array;
	readonly image: Image;
}

/** Runs `exe` in `mode` (deep, qsort, signal) and reads its capture. */
export function capture(exe: string, dir: string, mode: string): Capture {
	const out = join(dir, `${mode}-${Math.random().toString(36).slice(2)}`);
	mkdirSync(out);
	execFileSync(exe, [out, mode]);
	const [ip, sp, bp] = readFileSync(join(out, "regs.txt"), "utf8").trim().split(" ").map((h) => BigInt(`0x${h}`));
	const stack = new Uint8Array(readFileSync(join(out, "stack.bin")));
	const image = parseProcMaps(readFileSync(join(out, "maps.txt"), "utf8"));
	return { ip, sp, bp, stack, image };
}

/** One row as `readelf --debug-dump=frames-interp` prints it. */
export interface ReadelfRow {
	readonly loc: number;
	/** The FDE's end, exclusive. */
	readonly end: number;
	readonly cfa: string;
	readonly rbp: string;
	readonly ra: string;
}

/**
 * Rows of every FDE in `readelf --debug-dump=frames-interp` of `path`. An
 * FDE without rows of its own holds its CIE's initial row.
 */
export function readelfRows(path: string): ReadelfRow[] {
	// readelf exits 1 on some distribution files (it cannot follow their debuglink) after printing everything.
	const run = spawnSync("readelf", ["--debug-dump=frames-interp", path], { encoding: "utf8", maxBuffer: 1 << 28 });
	const text = run.stdout ?? "";
	if (!text.includes("Contents of the")) throw new Error(`readelf printed no frames for ${path}: ${run.stderr}`);
	const rows: ReadelfRow[] = [];
	const cieRows = new Map<string, { cfa: string; rbp: string; ra: string }>();
	let columns: string[] = [];
	let current: { kind: "cie" | "fde"; id: string; cie: string; start: number; end: number; count: number } | undefined;
	const finish = () => {
		if (current?.kind === "fde" && current.count === 0) {
			const initial = cieRows.get(current.cie);
			if (initial) rows.push({ loc: current.start, end: current.end, ...initial });
		}
	};
	for (const line of text.split("\n")) {
		const cie = /^([0-9a-f]{8}) [0-9a-f]+ [0-9a-f]+ CIE/.exec(line);
		const fde = /^([0-9a-f]{8}) [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(line);
		if (cie || fde) {
			finish();
			current = cie
				? { kind: "cie", id: cie[1], cie: cie[1], start: 0, end: 0, count: 0 }
				: { kind: "fde", id: (fde as RegExpExecArray)[1], cie: (fde as RegExpExecArray)[2], start: Number.parseInt((fde as RegExpExecArray)[3], 16), end: Number.parseInt((fde as RegExpExecArray)[4], 16), count: 0 };
			continue;
		}
		if (/^\s+LOC\s+CFA/.test(line)) {
			columns = line.trim().split(/\s+/);
			continue;
		}
		const row = /^([0-9a-f]{16}) (.*)$/.exec(line);
		if (!row || !current) continue;
		const cells = [row[1], ...row[2].replace(/ \((\w+)\)/g, "($1)").trim().split(/\s+/)];
		const get = (name: string) => {
			const i = columns.indexOf(name);
			return i < 0 ? "u" : (cells[i] ?? "u");
		};
		const entry = { cfa: get("CFA"), rbp: get("rbp"), ra: get("ra") };
		if (current.kind === "cie") {
			if (!cieRows.has(current.id)) cieRows.set(current.id, entry);
		} else {
			rows.push({ loc: Number.parseInt(row[1], 16), end: current.end, ...entry });
			current.count++;
		}
	}
	finish();
	return rows;
}

/** One hand-made FDE: its address range and its CFA instructions. */
export interface FdeSpec {
	readonly start: number;
	readonly range: number;
	readonly ins: readonly number[];
	/** Marks it a signal frame (its CIE has "zRS"). */
	readonly signal?: boolean;
}

/**
 * An .eh_frame at `vaddr`: a CIE "zR" (pcrel|sdata4) with the x86-64
 * initial rules (CFA rsp+8, return address at CFA-8), a "zRS" CIE for
 * signal frames, the FDEs, and the terminator.
 */
export function ehFrame(fdes: readonly FdeSpec[], vaddr = 0x1000): Uint8Array {
	const out: number[] = [];
	const u32 = (v: number) => out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
	const cie = [0, 0, 0, 0, 1, 0x7a, 0x52, 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1, 0, 0];
	u32(cie.length);
	out.push(...cie);
	const signalCie = out.length;
	const cieS = [0, 0, 0, 0, 1, 0x7a, 0x52, 0x53, 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1, 0];
	u32(cieS.length);
	out.push(...cieS);
	for (const f of fdes) {
		const body: number[] = [];
		const at = out.length;
		// CIE pointer: distance from this field back to the CIE.
		const ptr = at + 4 - (f.signal ? signalCie : 0);
		body.push(ptr & 0xff, (ptr >> 8) & 0xff, 0, 0);
		const pcrel = f.start - (vaddr + at + 8);
		body.push(pcrel & 0xff, (pcrel >> 8) & 0xff, (pcrel >> 16) & 0xff, (pcrel >>> 24) & 0xff);
		body.push(f.range & 0xff, (f.range >> 8) & 0xff, 0, 0, 0, ...f.ins);
		while ((body.length + 4) % 8) body.push(0);
		u32(body.length);
		out.push(...body);
	}
	u32(0);
	return new Uint8Array(out);
}
