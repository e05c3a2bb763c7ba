/**
 * The exports of `report`, parsed the way their consumers parse them: the
 * SVG by an XML parser (xmllint), speedscope's JSON against the schema its
 * npm package ships, folded stacks by their grammar.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { Ajv } from "ajv";
import { flameGraphSvg } from "../../source/output/flamegraph-svg.js";
import { formatFolded } from "../../source/output/folded.js";
import { toSpeedscope } from "../../source/output/speedscope.js";
import type { Frame, Sample } from "../../source/profile/model.js";
import { F, fixtureProfile, sample } from "../helpers/profiles.js";

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve("speedscope/dist/release/file-format-schema.json"), "utf8"));
const hasXmllint = spawnSync("xmllint", ["--version"]).status === 0;

describe("--svg", () => {
	const p = fixtureProfile();
	const svg = flameGraphSvg(p, p.samples, { title: "test <&>" });

	test("is well-formed XML with a title per frame: name, module, count and share", { skip: !hasXmllint && "xmllint is not installed (apt-get install libxml2-utils)" }, () => {
		const r = spawnSync("xmllint", ["--noout", "-"], { input: svg, encoding: "utf8" });
		assert.equal(r.status, 0, r.stderr);
		const titles = spawnSync("xmllint", ["--xpath", "//*[local-name()='g'][@class='f']/*[local-name()='title']/text()", "-"], { input: svg, encoding: "utf8" }).stdout;
		// 460 samples in all: hot_alpha is 304 of them (under main > work_loop), 66.09%.
		assert.match(titles, /hot_alpha \(\/opt\/work\/ratio\)\n304 samples, 66\.09%/);
		assert.match(titles, /hot_beta \(\/opt\/work\/ratio\)\n100 samples, 21\.74%/);
		assert.match(titles, /all\n460 samples, 100\.00%/);
		assert.match(titles, /do_syscall_64 \(\[kernel\]\)\n4 samples, 0\.87%/);
	});

	test("colours frames by kind: user, kernel, JIT, unknown", () => {
		const fillOf = (name: string) => new RegExp(`<title>${name.replace(/[[\]*()]/g, "\\$&")}[^<]*</title><rect [^>]*fill="hsl\\((\\d+),(\\d+)%`).exec(svg);
		const hue = (name: string) => Number(fillOf(name)?.[1]);
		const sat = (name: string) => Number(fillOf(name)?.[2]);
		assert.ok(hue("hot_alpha") < 15, "user frames are red");
		assert.ok(hue("do_syscall_64") >= 30 && hue("do_syscall_64") <= 50, "kernel frames are orange");
		assert.ok(hue("JS:*jsHot") >= 110, "JIT frames are green");
		assert.equal(sat("[unknown] 0x7f0000001234 (no symbol)"), 0, "unknown frames are grey");
	});

	test("has a search box and click-to-zoom in inline script", () => {
		assert.match(svg, /<text id="search"[^>]*>Search<\/text>/);
		assert.match(svg, /<script type="text\/ecmascript"><!\[CDATA\[[\s\S]*addEventListener\("click"[\s\S]*\]\]><\/script>/);
		assert.match(svg, /test &#60;&#38;&#62;/, "the title is escaped");
	});

	test("100k distinct stacks: narrow frames are merged, the file stays small", () => {
		const many: Sample[] = [];
		for (let i = 0; i < 100_000; i++) {
			const leaf: Frame = { name: `fn_${i}`, module: "/bin/many", kernel: false };
			many.push(sample(9, 9, "many", [leaf, F.loop, F.main], 1));
		}
		many.push(sample(9, 9, "many", [F.alpha, F.loop, F.main], 100_000));
		const big = flameGraphSvg({ ...fixtureProfile(), samples: many }, many, { title: "many" });
		const boxes = big.match(/<g class="f"/g)?.length ?? 0;
		assert.ok(boxes < 50, `${boxes} boxes`);
		assert.match(big, /100000 narrow frames merged/);
		assert.match(big, /hot_alpha \(\/opt\/work\/ratio\)\n100000 samples, 50\.00%/);
		assert.ok(big.length < 100_000, `${big.length} bytes`);
	});
});

describe("--speedscope", () => {
	const p = fixtureProfile();
	const doc = toSpeedscope(p, p.samples, "f.pb.gz") as {
		profiles: { name: string; unit: string; samples: number[][]; weights: number[]; endValue: number }[];
		shared: { frames: { name: string; file?: string }[] };
	};

	test("is valid against the schema the speedscope package ships", () => {
		const validate = new Ajv({ strict: false }).compile(schema);
		assert.ok(validate(doc), JSON.stringify(validate.errors));
	});

	test("has one profile per process, heaviest first, with the fixture's proportions", () => {
		assert.deepEqual(doc.profiles.map((x) => x.name), ["ratio (pid 42)", "node (pid 77)"]);
		const ratio = doc.profiles[0];
		assert.ok(ratio);
		const period = Math.round(1e9 / 99);
		assert.equal(ratio.unit, "nanoseconds");
		assert.equal(ratio.endValue, 404 * period);
		const weightOf = (leaf: string) =>
			ratio.samples.reduce((n, stack, i) => (doc.shared.frames[stack[stack.length - 1] as number]?.name === leaf ? n + (ratio.weights[i] as number) : n), 0);
		assert.equal(weightOf("hot_alpha") / weightOf("hot_beta"), 3);
		// Outermost first.
		assert.equal(doc.shared.frames[ratio.samples[0]?.[0] as number]?.name, "main");
	});
});

describe("--folded", () => {
	test("every line follows the grammar flamegraph.pl and inferno read", () => {
		const p = fixtureProfile();
		const weird = sample(5, 5, "we;ird", [{ name: "a;b\nc", module: "/x", kernel: false }], 1);
		const text = formatFolded([...p.samples, weird]);
		const lines = text.trimEnd().split("\n");
		for (const line of lines) assert.match(line, /^[^;\n]+(;[^;\n]+)* [0-9]+$/, line);
		assert.ok(lines.includes("ratio;main;work_loop;hot_alpha 300"));
		assert.ok(lines.includes("ratio;main;work_loop;hot_beta 100"));
		assert.ok(lines.includes("we:ird;a:b c 1"));
	});
});
