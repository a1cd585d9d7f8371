// The `flotilla` command: noun-verb commands, gh-style. Exit codes: 0 ok, 1 error, 2 cancelled,
// 4 auth, 8 pending.
import { Command, CommanderError } from "commander";
import { FlotillaError } from "../domain/errors.js";
import { registerRunnerStart } from "./commands/runner/start.js";
import { registerServerStart } from "./commands/server/start.js";

export const EXIT = { ok: 0, error: 1, cancelled: 2, auth: 4, pending: 8 } as const;

function buildProgram(): Command {
  const program = new Command("flotilla")
    .description("run simulations as asynchronous tasks on machine groups")
    .showHelpAfterError()
    .exitOverride();
  const server = program.command("server").description("run and inspect the flotilla server");
  registerServerStart(server);
  const runner = program
    .command("runner")
    .description("run a machine (runner) that executes tasks");
  registerRunnerStart(runner);
  return program;
}

function exitCodeFor(error: unknown): number {
  if (error instanceof FlotillaError && error.code === "UNAUTHORIZED") return EXIT.auth;
  return EXIT.error;
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT.error);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exit(exitCodeFor(error));
  }
}

await main(process.argv);
