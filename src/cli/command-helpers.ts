// Small pieces shared by the command files: examples in --help, number options, the task id given
// as a positional argument or with --id.
import { InvalidArgumentError, type Command } from "commander";
import { CliExit, EXIT } from "./exit.js";

/** Adds an "Examples:" section to the command's --help. */
export function withExamples(
  command: Command,
  examples: readonly string[],
  notes?: string,
): Command {
  const lines = examples.map((example) => `  $ ${example}`).join("\n");
  const extra = notes === undefined ? "" : `\n${notes.trimEnd()}\n`;
  return command.addHelpText("after", `\nExamples:\n${lines}\n${extra}`);
}

/** Commander parser of an integer option of at least `min`. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) {
      throw new InvalidArgumentError(`expected an integer of at least ${min}, got "${value}"`);
    }
    return parsed;
  };
}

/** Commander parser of a number of seconds (fractions allowed), returned in milliseconds. */
export function secondsAsMs(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    throw new InvalidArgumentError(`expected a number of seconds, got "${value}"`);
  }
  return Math.round(parsed * 1000);
}

/** Repeatable option: `--files a b --files c` and `--status a,b` both collect every value. */
export function collect(value: string, previous: string[] | undefined): string[] {
  const values = value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  return [...(previous ?? []), ...values];
}

/** The task id from `<id>` or `--id <id>` (the seed's `tasks list-files --id <id>` form). */
export function taskIdFrom(positional: string | undefined, option: string | undefined): string {
  if (positional !== undefined && option !== undefined && positional !== option) {
    throw new CliExit(
      EXIT.error,
      `two task ids given (${positional} and --id ${option}); give one`,
    );
  }
  const id = positional ?? option;
  if (id === undefined) throw new CliExit(EXIT.error, "give a task id: `<id>` or `--id <id>`");
  return id;
}
