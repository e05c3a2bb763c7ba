/**
 * A standalone flame graph SVG, in the manner of flamegraph.pl: callers
 * below callees, widths proportional to value, a hover title with the value
 * and its share, colours by kind of code, a search box and click-to-zoom in
 * a few lines of inline script. Frames narrower than `minWidthPx` are
 * merged into one box per parent, so a profile of 100k distinct stacks
 * stays a few thousand elements.
 */
import { buildFlameTree, type FlameNode, type FrameKind } from "./flame-tree.js";
import type { Profile, Sample } from "../profile/model.js";

export interface FlameGraphOptions {
	readonly title: string;
	readonly width?: number;
	readonly frameHeight?: number;
	/** Frames narrower than this many pixels are merged. */
	readonly minWidthPx?: number;
}

const FONT_SIZE = 12;
/** Average advance of a 12 px sans-serif glyph, for cutting labels to fit. */
const CHAR_PX = 6.6;

/** Base hue, saturation and lightness per kind; the name varies them a little. */
const COLOURS: Record<FrameKind | "merged", readonly [number, number, number]> = {
	process: [210, 45, 72],
	kernel: [40, 85, 58],
	user: [6, 75, 62],
	jit: [120, 50, 55],
	unknown: [0, 0, 72],
	merged: [0, 0, 85],
};

export const LEGEND: readonly (readonly [string, FrameKind])[] = [
	["user", "user"],
	["kernel", "kernel"],
	["JIT", "jit"],
	["unknown", "unknown"],
	["process", "process"],
];

function xml(s: string): string {
	return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function hash(s: string): number {
	let h = 2166136261;
	for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
	return (h >>> 0) / 4294967296;
}

function fill(kind: FrameKind | "merged", name: string): string {
	const [h, s, l] = COLOURS[kind];
	const v = hash(name);
	// Within ±6 degrees, so that kinds never share a hue.
	const hue = kind === "unknown" || kind === "merged" ? h : h + Math.round(v * 12) - 6;
	return `hsl(${hue},${s}%,${l + Math.round(v * 10) - 5}%)`;
}

function unitText(profile: Profile, value: number): string {
	if (profile.unit === "nanoseconds") return `${(value / 1e6).toFixed(value < 1e7 ? 2 : 0)} ms`;
	return `${value} sample${value === 1 ? "" : "s"}`;
}

/** Renders the flame graph of `samples` (already filtered) from `profile`. */
export function flameGraphSvg(profile: Profile, samples: readonly Sample[], opts: FlameGraphOptions): string {
	const width = opts.width ?? 1200;
	const frameH = opts.frameHeight ?? 16;
	const minPx = opts.minWidthPx ?? 1;
	const pad = 10;
	const top = 50;
	const bottom = 30;
	const plotW = width - 2 * pad;
	const root = buildFlameTree(samples);
	const total = root.value;

	const boxes: string[] = [];
	let maxDepth = 0;
	// Layout first (fractions of the total), then y once the depth is known.
	const laid: { n: FlameNode | { name: string; module: string; kind: "merged"; value: number; count: number }; x: number; depth: number }[] = [];
	const walk = (n: FlameNode, x: number, depth: number) => {
		laid.push({ n, x, depth });
		if (depth > maxDepth) maxDepth = depth;
		let cx = x;
		let narrow = 0;
		let narrowCount = 0;
		let narrowX = 0;
		const flushNarrow = () => {
			if (narrowCount === 0) return;
			// One box for the run of narrow siblings, if the run itself shows.
			if ((narrow / total) * plotW >= minPx) {
				laid.push({ n: { name: `${narrowCount} narrow frames merged`, module: "", kind: "merged", value: narrow, count: narrowCount }, x: narrowX, depth: depth + 1 });
				if (depth + 1 > maxDepth) maxDepth = depth + 1;
			}
			narrow = 0;
			narrowCount = 0;
		};
		const kids = [...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		for (const c of kids) {
			if ((c.value / total) * plotW < minPx) {
				if (narrowCount === 0) narrowX = cx;
				narrow += c.value;
				narrowCount++;
			} else {
				flushNarrow();
				walk(c, cx, depth + 1);
			}
			cx += c.value;
		}
		flushNarrow();
	};
	if (total > 0) walk(root, 0, 0);

	const height = top + (maxDepth + 1) * frameH + bottom;
	for (const { n, x, depth } of laid) {
		const fx = x / total;
		const fw = n.value / total;
		const px = pad + fx * plotW;
		const pw = fw * plotW;
		const y = height - bottom - (depth + 1) * frameH;
		const pct = ((100 * n.value) / total).toFixed(2);
		const where = n.module ? ` (${n.module})` : "";
		const title = `${n.name}${where}\n${unitText(profile, n.value)}, ${pct}%`;
		const chars = Math.floor((pw - 6) / CHAR_PX);
		const label = chars < 3 ? "" : n.name.length <= chars ? n.name : `${n.name.slice(0, chars - 2)}..`;
		boxes.push(
			`<g class="f" data-x="${fx}" data-w="${fw}" data-d="${depth}"><title>${xml(title)}</title>` +
				`<rect x="${px.toFixed(1)}" y="${y}" width="${Math.max(pw - 0.5, 0.5).toFixed(1)}" height="${frameH - 1}" fill="${fill(n.kind, n.name)}" rx="2"/>` +
				`<text x="${(px + 3).toFixed(1)}" y="${y + frameH - 4}">${xml(label)}</text></g>`,
		);
	}

	const legend = LEGEND.map(([text, kind], i) => {
		const lx = width - pad - (LEGEND.length - i) * 85;
		return `<rect x="${lx}" y="${top - 18}" width="12" height="12" fill="${fill(kind, "")}"/><text x="${lx + 16}" y="${top - 8}">${text}</text>`;
	}).join("");
	const summary = `${unitText(profile, total)}${profile.frequencyHz > 0 ? ` at ${profile.frequencyHz} Hz` : ""}`;

	return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-pad="${pad}" data-plotw="${plotW}">
<style>
text { font-family: Verdana, sans-serif; font-size: ${FONT_SIZE}px; fill: #000; }
.f { cursor: pointer; } .f:hover rect { stroke: #000; stroke-width: 0.5; }
.f.hit rect { fill: #e040fb; } .f.hide { display: none; }
#search, #reset { cursor: pointer; fill: #333; }
</style>
<rect width="100%" height="100%" fill="#f8f8f8"/>
<text x="${width / 2}" y="20" text-anchor="middle" style="font-size:16px">${xml(opts.title)}</text>
<text x="${pad}" y="${top - 8}">${xml(summary)}</text>
<text id="reset" x="${pad}" y="20" style="display:none">Reset zoom</text>
<text id="search" x="${width - pad}" y="20" text-anchor="end">Search</text>
<text id="matched" x="${width - pad}" y="${height - 10}" text-anchor="end"></text>
${legend}
<g id="frames">
${boxes.join("\n")}
</g>
<script type="text/ecmascript"><![CDATA[
${SCRIPT}
]]></script>
</svg>
`;
}

/** Zoom rescales the boxes inside the clicked one; search colours matches and sums their share. */
const SCRIPT = `(function () {
var svg = document.documentElement, pad = +svg.getAttribute("data-pad"), W = +svg.getAttribute("data-plotw");
var fs = [].slice.call(document.querySelectorAll(".f")), reset = document.getElementById("reset");
function place(g, x0, w0, d0) {
  var x = (+g.getAttribute("data-x") - x0) / w0, w = +g.getAttribute("data-w") / w0, d = +g.getAttribute("data-d");
  var inside = x > -1e-9 && x + w < 1 + 1e-9, below = d < d0 && x <= 0 && x + w >= 1;
  g.classList.toggle("hide", !(inside || below));
  var r = g.querySelector("rect"), t = g.querySelector("text"), px = pad + (below ? 0 : x) * W, pw = (below ? 1 : w) * W;
  r.setAttribute("x", px); r.setAttribute("width", Math.max(pw - 0.5, 0.5)); t.setAttribute("x", px + 3);
  var name = g.querySelector("title").textContent.split("\\n")[0].replace(/ \\(.*\\)$/, ""), n = Math.floor((pw - 6) / ${CHAR_PX});
  t.textContent = n < 3 ? "" : name.length <= n ? name : name.slice(0, n - 2) + "..";
}
function zoom(g) {
  var x0 = +g.getAttribute("data-x"), w0 = +g.getAttribute("data-w"), d0 = +g.getAttribute("data-d");
  fs.forEach(function (f) { place(f, x0, w0, d0); });
  reset.style.display = w0 < 1 ? "" : "none";
}
fs.forEach(function (g) { g.addEventListener("click", function () { zoom(g); }); });
reset.addEventListener("click", function () { zoom(fs[0]); });
document.getElementById("search").addEventListener("click", function () {
  var q = prompt("Search (regular expression)", ""), re, sum = 0, spans = [];
  fs.forEach(function (g) { g.classList.remove("hit"); });
  if (!q) { document.getElementById("matched").textContent = ""; return; }
  try { re = new RegExp(q); } catch (e) { return; }
  fs.forEach(function (g) {
    var name = g.querySelector("title").textContent.split("\\n")[0];
    if (!re.test(name)) return;
    g.classList.add("hit");
    var x = +g.getAttribute("data-x"), w = +g.getAttribute("data-w");
    // A match inside another match is not counted twice.
    if (!spans.some(function (s) { return x >= s[0] - 1e-12 && x + w <= s[1] + 1e-12; })) { spans.push([x, x + w]); sum += w; }
  });
  document.getElementById("matched").textContent = "Matched: " + (100 * sum).toFixed(2) + "%";
});
})();`;
