/**
 * `top --pid N` follows N's descendants, as `record --pid N` does: through the
 * real kernel, the batch snapshots of a shell that starts burners show the
 * burners, which the shell's own pid never would, and nothing else.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { runCli } from "../helpers/kernel-cli.js";
import { Scratch } from "../helpers/kernel-fixtures.js";
import { requireKernel } from "../helpers/root.js";

const scratch = new Scratch("tsprof-follow-");
after(() => scratch.cleanup());

test("top --pid N shows the samples of N's children, and says it follows", { skip: requireKernel(), timeout: 120_000 }, async () => {
	const burner = scratch.compile("brief-burn", "child-burn");
	const outsider = scratch.compile("brief-burn", "outsider-burn");
	const other = scratch.start(outsider, ["60000"]);
	// The shell burns nothing itself; it waits until top is attached, then
	// starts its children one after another.
	const parent = scratch.start("/bin/sh", ["-c", `sleep 2; for i in 1 2 3 4 5 6 7 8; do ${burner} 400; done`]);
	const r = await runCli(["top", "--pid", String(parent.pid), "-n", "6", "-d", "1"], { timeoutMs: 90_000 });
	other.child.kill("SIGKILL");
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, new RegExp(`following pid ${parent.pid} and descendants`));
	assert.match(r.stdout, /child-burn/, "the children's processes are listed");
	assert.match(r.stdout, /brief_burn_xyz/, "the children's functions are counted");
	assert.doesNotMatch(r.stdout, /outsider-burn/, "a process outside the tree is not");
});
