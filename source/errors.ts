/**
 * An error meant for the user: the CLI prints its message as one line on
 * stderr and exits with `exitCode`, never with a stack trace.
 */
export class UserError extends Error {
	readonly exitCode: number;
	constructor(message: string, exitCode = 1) {
		super(message);
		this.name = "UserError";
		this.exitCode = exitCode;
	}
}
