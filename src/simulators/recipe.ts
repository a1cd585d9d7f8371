/**
 * The shape of a simulator recipe (DESIGN.md "Simulators"): what a task runs, how to find the
 * program on a machine, how to report its version, which file of the input is the main one, and
 * which commands to run by default. Recipes are pure data and pure functions: no I/O here. The SDK
 * reads the input directory and hands the names to {@link findMainInputCandidates}; the runner
 * runs `versionCommand` and hands the output to `parseVersion`.
 *
 * Adding a simulator is one file exporting a recipe plus one line in `catalog.ts`.
 */
import type { Command } from "../domain/task.js";

/** How a recipe finds the main input file of an input directory. */
export interface MainInputSpec {
  /** The name users know the option by (`run(dir, { mainFile })`, `--main-file`). */
  readonly option: string;
  /** What the file is, for messages and help: "the CalculiX job file (.inp)". */
  readonly description: string;
  /**
   * File name patterns searched at the top level of the input directory, in order of
   * preference. `*` matches any run of characters, `?` one character; matching is
   * case-sensitive and never crosses a `/`.
   */
  readonly patterns: readonly string[];
}

/** What `defaultCommands` gets: the main file (relative to the input dir) and recipe options. */
export interface RecipeCommandOptions {
  /** The main input file, relative to the input directory, when the recipe has one. */
  readonly mainFile?: string | undefined;
  /** CPUs the commands may use, when known. */
  readonly cpus?: number | undefined;
  /** Recipe-specific options, passed through from `run(dir, { options })`. */
  readonly [option: string]: unknown;
}

/** Container runtimes a recipe image can run with. */
export type ContainerRuntime = "podman" | "apptainer";

/**
 * A container image that provides the recipe's binaries, for hosts that do not have them on
 * `PATH`. Designed in, not used yet: a runner that finds a runtime but not the binaries will
 * wrap each command as `<runtime> run <image> <argv...>` with the working directory mounted.
 */
export interface ContainerImageSpec {
  /** Image reference, e.g. `docker.io/gromacs/gromacs:2024.2`. */
  readonly image: string;
  /** Runtimes the image is known to work with, in order of preference. */
  readonly runtimes: readonly ContainerRuntime[];
}

/** A named simulator recipe. */
export interface SimulatorRecipe {
  /** Stable name used in task records, the CLI and `simulators.get(name)`. */
  readonly name: string;
  /** One line for `flotilla simulators list`. */
  readonly description: string;
  /** Programs that must be on `PATH` for a machine to run this simulator without a container. */
  readonly binaries: readonly string[];
  /**
   * argv that prints the version (stdout and stderr are both given to `parseVersion`). Without
   * one, the recipe's version is `parseVersion("")`.
   */
  readonly versionCommand?: Command | undefined;
  /** The version in the output of `versionCommand`, or undefined when it cannot be found. */
  parseVersion(output: string): string | undefined;
  /** Present when the recipe's default commands need a main input file. */
  readonly mainInput?: MainInputSpec | undefined;
  /** The commands to run when the user gives none; empty when the user must give them. */
  defaultCommands(options: RecipeCommandOptions): Command[];
  /** Optional container image with the binaries (not used yet, see {@link ContainerImageSpec}). */
  readonly containerImage?: ContainerImageSpec | undefined;
}

/** True when `fileName` matches a `*`/`?` pattern (whole name, case-sensitive). */
export function matchesPattern(fileName: string, pattern: string): boolean {
  const source = pattern
    .split("")
    .map((char) => {
      if (char === "*") return "[^/]*";
      if (char === "?") return "[^/]";
      return char.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${source}$`).test(fileName);
}

/**
 * The top-level file names of an input directory that match the first pattern of the spec
 * matching any (names sorted). One name: that is the main file. Several: the user must choose.
 * None: the input has no main file.
 */
export function findMainInputCandidates(
  spec: MainInputSpec,
  fileNames: readonly string[],
): string[] {
  const sorted = [...fileNames].sort();
  for (const pattern of spec.patterns) {
    const found = sorted.filter((name) => matchesPattern(name, pattern));
    if (found.length > 0) return found;
  }
  return [];
}

/** The first dotted version number in a text ("GROMACS version: 2024.2" → "2024.2"). */
export function firstVersionNumber(output: string): string | undefined {
  return /\d+(?:\.\d+)+/.exec(output)?.[0] ?? /\d+/.exec(output)?.[0];
}

/**
 * Compares dotted versions numerically ("1.10" > "1.9"); non-numeric parts compare as text.
 * Negative when `a < b`, positive when `a > b`, 0 when equal.
 */
export function compareVersions(a: string, b: string): number {
  const left = a.split(/[.-]/);
  const right = b.split(/[.-]/);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i] ?? "0";
    const y = right[i] ?? "0";
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    const difference = numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (difference !== 0) return difference;
  }
  return 0;
}
