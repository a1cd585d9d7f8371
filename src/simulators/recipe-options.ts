// Reading recipe options (`run(dir, { options })`) with errors that name the option and the fix,
// and the MPI launch every recipe shares.
import { InvalidInputError } from "../domain/errors.js";
import type { Command } from "../domain/task.js";
import { PLACEHOLDERS, type RecipeCommandOptions } from "./recipe.js";

/** A string option, or undefined when absent; INVALID_INPUT when it is not a non-empty string. */
export function stringOption(
  options: RecipeCommandOptions,
  simulator: string,
  key: string,
): string | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new InvalidInputError(
      `simulator ${simulator}: option ${key} must be a non-empty string, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** A string array option (extra arguments), empty when absent. */
export function argsOption(
  options: RecipeCommandOptions,
  simulator: string,
  key: string,
): string[] {
  const value = options[key];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((arg) => typeof arg === "string")) {
    throw new InvalidInputError(
      `simulator ${simulator}: option ${key} must be an array of strings (extra arguments), not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * The `np` option: MPI ranks as a positive integer, or "cpus" for the machine's CPU count;
 * undefined when the task does not use MPI.
 */
export function mpiRanks(options: RecipeCommandOptions, simulator: string): string | undefined {
  const np = options.np;
  if (np === undefined) return undefined;
  if (np === "cpus") return PLACEHOLDERS.cpus;
  if (typeof np === "number" && Number.isInteger(np) && np >= 1 && np <= 100_000) return String(np);
  throw new InvalidInputError(
    `simulator ${simulator}: option np (MPI ranks) must be a positive integer or "cpus", not ${JSON.stringify(np)}`,
  );
}

/**
 * `argv` under `mpirun -np <np>` (Open MPI). `--oversubscribe` because the machine's CPU count
 * counts hardware threads and Open MPI counts cores: "cpus" ranks must still start.
 */
export function underMpirun(np: string, argv: Command): string[] {
  return ["mpirun", "--oversubscribe", "-np", np, ...argv];
}

/**
 * Open MPI 4 refuses to run as root unless told twice; runners in containers and Slurm test
 * clusters often are root. Harmless for other users.
 */
export const MPI_ENV: Readonly<Record<string, string>> = {
  OMPI_ALLOW_RUN_AS_ROOT: "1",
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1",
};

/** The one top-level file of `files` with `extension`, the given one, or an error naming it. */
export function pickCompanionFile(
  files: readonly string[],
  request: {
    readonly simulator: string;
    readonly given: string | undefined;
    readonly extension: string;
    readonly what: string;
    readonly option: string;
    readonly dir: string;
    readonly mainFile: string;
  },
): string {
  const { simulator, given, extension, what, option, dir, mainFile } = request;
  if (given !== undefined) {
    if (files.includes(given)) return given;
    throw new InvalidInputError(
      `simulator ${simulator}: ${what} ${given} (option ${option}) is not in input directory ${dir}; give its path relative to that directory`,
    );
  }
  const found = files.filter((file) => !file.includes("/") && file.endsWith(extension));
  const [only] = found;
  if (only !== undefined && found.length === 1) return only;
  if (found.length === 0) {
    throw new InvalidInputError(
      `simulator ${simulator} needs ${what} (*${extension}) next to ${mainFile} in ${dir} and found none; add it, or pass options: { ${option}: "<file>" }`,
    );
  }
  throw new InvalidInputError(
    `simulator ${simulator} needs one ${what} (*${extension}) but ${dir} has ${found.length}: ${found.join(", ")}; pick one with options: { ${option}: "<file>" }`,
  );
}
