/**
 * Run by top-command.test.ts in a child process: starts `top` on a fake
 * terminal whose output goes to the real stdout, then crashes with an
 * uncaught exception. The parent checks that the terminal was restored.
 */
import { top } from "../../source/commands/top.js";
import { FakeSource, systemBatch } from "./fake-source.js";
import { FakeTtyIn, FakeTtyOut } from "./fake-terminal.js";

const stdout = new FakeTtyOut({
	columns: 100,
	rows: 30,
	tee: (chunk) => process.stdout.write(chunk),
});
const stdin = new FakeTtyIn();
void top(
	{ frequencyHz: 99, delayS: 30, pids: [] },
	new FakeSource({ initial: [systemBatch()] }),
	{
		stdout: stdout as unknown as NodeJS.WriteStream,
		stdin: stdin as unknown as NodeJS.ReadStream,
	},
);
// Once the view is up: top loads Ink only when it starts drawing, and renders
// right after entering the alternate screen (under CI=true Ink shows no frame
// before it unmounts, so the frame itself cannot be waited for).
const timer = setInterval(() => {
	if (!stdout.output.includes("\u001B[?1049h")) return;
	clearInterval(timer);
	setTimeout(() => {
		throw new Error("deliberate crash");
	}, 100);
}, 20);
