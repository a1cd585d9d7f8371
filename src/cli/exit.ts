// Exit codes of the `flotilla` command, and the error a command throws to end with one of them.

/** 0 ok, 1 error, 2 cancelled (a prompt declined), 4 auth, 8 pending (still running). */
export const EXIT = { ok: 0, error: 1, cancelled: 2, auth: 4, pending: 8 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Ends the command with `code`. main.ts prints `message` (when given) as `error: <message>` for
 * code 1 and as is for the others, then exits.
 */
export class CliExit extends Error {
  readonly code: ExitCode;

  constructor(code: ExitCode, message = "") {
    super(message);
    this.name = "CliExit";
    this.code = code;
  }
}
