#!/usr/bin/env node
// Takes a real screenshot of `tsprof top` on a busy machine for the README:
// starts CPU-burning fixtures, runs top in a tmux pane, captures the pane
// with its colours, and writes it as SVG. Needs root, tmux and gcc.
// Usage: node scripts/screenshot.mjs [OUT=media/top.svg] [COLS=120] [ROWS=34]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const [out = join(root, "media", "top.svg"), cols = "120", rows = "34"] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "tsprof-shot-"));
const session = `tsprof-shot-${process.pid}`;
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
	for (const name of ["ratio-burn", "brief-burn", "spawn-storm"]) {
		execFileSync("gcc", ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline", "-o", join(dir, name), join(root, "test", "fixtures", `${name}.c`)]);
	}
	children.push(spawn(join(dir, "ratio-burn"), ["60"], { stdio: "ignore" }));
	children.push(spawn(join(dir, "brief-burn"), ["60000"], { stdio: "ignore" }));
	// A steady trickle of short processes, as a build would make.
	children.push(spawn("sh", ["-c", `while :; do ${join(dir, "spawn-storm")} 20 2 ${join(dir, "brief-burn")} 20 >/dev/null; sleep 0.5; done`], { stdio: "ignore" }));
	execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", cols, "-y", rows, `env -u CI TERM=xterm-256color ${process.execPath} ${join(root, "dist", "bundle", "cli.js")} top`]);
	await sleep(7000);
	const ansi = execFileSync("tmux", ["capture-pane", "-e", "-p", "-t", session], { encoding: "utf8" });
	writeFileSync(out, toSvg(ansi, Number(cols), Number(rows)));
	console.log(`wrote ${out}`);
} finally {
	try {
		execFileSync("tmux", ["kill-session", "-t", session], { stdio: "ignore" });
	} catch {}
	for (const c of children) c.kill("SIGKILL");
	try {
		execFileSync("pkill", ["-f", dir]);
	} catch {
		// nothing left running
	}
	rmSync(dir, { recursive: true, force: true });
}

function toSvg(text, width, height) {
	const base = ["#1e1e1e", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#dcdfe4"];
	const bright = ["#5c6370", "#ef7d87", "#a8d68a", "#f0d08a", "#7cc0ff", "#d79be9", "#6fd0dc", "#ffffff"];
	const color256 = (n) => {
		if (n < 8) return base[n];
		if (n < 16) return bright[n - 8];
		if (n < 232) {
			const v = [0, 95, 135, 175, 215, 255];
			const i = n - 16;
			return `rgb(${v[Math.floor(i / 36)]},${v[Math.floor(i / 6) % 6]},${v[i % 6]})`;
		}
		const g = 8 + (n - 232) * 10;
		return `rgb(${g},${g},${g})`;
	};
	const cw = 8.4;
	const lh = 17;
	const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
	const parts = [];
	const lines = text.replace(/\n$/, "").split("\n").slice(0, height);
	lines.forEach((line, y) => {
		let st = { fg: undefined, bg: undefined, bold: false, dim: false, inverse: false };
		let x = 0;
		for (const seg of line.split(/(\x1b\[[0-9;]*m)/)) {
			const m = /^\x1b\[([0-9;]*)m$/.exec(seg);
			if (m) {
				const codes = m[1] === "" ? [0] : m[1].split(";").map(Number);
				for (let i = 0; i < codes.length; i++) {
					const c = codes[i];
					if (c === 0) st = { fg: undefined, bg: undefined, bold: false, dim: false, inverse: false };
					else if (c === 1) st.bold = true;
					else if (c === 2) st.dim = true;
					else if (c === 7) st.inverse = true;
					else if (c === 22) st.bold = st.dim = false;
					else if (c === 27) st.inverse = false;
					else if (c >= 30 && c <= 37) st.fg = base[c - 30];
					else if (c >= 90 && c <= 97) st.fg = bright[c - 90];
					else if (c >= 40 && c <= 47) st.bg = base[c - 40];
					else if (c >= 100 && c <= 107) st.bg = bright[c - 100];
					else if (c === 39) st.fg = undefined;
					else if (c === 49) st.bg = undefined;
					else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
						st[c === 38 ? "fg" : "bg"] = color256(codes[i + 2]);
						i += 2;
					} else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
						st[c === 38 ? "fg" : "bg"] = `rgb(${codes[i + 2]},${codes[i + 3]},${codes[i + 4]})`;
						i += 4;
					}
				}
				continue;
			}
			if (!seg) continue;
			const chars = [...seg];
			let fg = st.fg ?? "#dcdfe4";
			let bg = st.bg;
			if (st.inverse) [fg, bg] = [bg ?? "#1e1e1e", fg];
			if (bg) parts.push(`<rect x="${(x * cw).toFixed(1)}" y="${y * lh + 4}" width="${(chars.length * cw).toFixed(1)}" height="${lh}" fill="${bg}"/>`);
			if (seg.trim()) {
				parts.push(
					`<text x="${(x * cw).toFixed(1)}" y="${(y + 1) * lh}" fill="${fg}"${st.bold ? ' font-weight="bold"' : ""}${st.dim ? ' opacity="0.55"' : ""} xml:space="preserve">${esc(seg)}</text>`,
				);
			}
			x += chars.length;
		}
	});
	const w = Math.ceil(width * cw) + 16;
	const h = height * lh + 16;
	return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="-8 -4 ${w} ${h}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">
<rect x="-8" y="-4" width="${w}" height="${h}" fill="#1e1e1e" rx="6"/>
${parts.join("\n")}
</svg>
`;
}
