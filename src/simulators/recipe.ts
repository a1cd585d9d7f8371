/**
 * The shape of a simulator recipe (DESIGN.md "Simulators"): what a task runs, how to find the
 * program on a machine, how to report its version, which file of the input is the main one, and
 * which commands to run by default. Recipes are pure data and pure functions: no I/O of their
 * own. The SDK reads the input directory and hands the names to {@link findMainInputCandidates}
 * (and an {@link InputListing} to `inspectInput`); the runner runs `versionCommand` and hands the
 * output to `parseVersion`, sources `environment` before each command, fills the
 * {@link PLACEHOLDERS} and asks `findError` about the output.
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
   * File name patterns searched in the input directory, in order of preference: relative paths
   * with `/` separators (`system/controlDict`); `*` matches any run of characters, `?` one
   * character; matching is case-sensitive and never crosses a `/`, so `*.inp` finds top-level
   * files only.
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

/**
 * Placeholders the runner fills in every argv element and env value of a task just before it
 * runs, with facts only the machine knows: `{cpus}` its CPU count, `{workdir}` the absolute path
 * of the task's working directory.
 */
export const PLACEHOLDERS = { cpus: "{cpus}", workdir: "{workdir}" } as const;

/**
 * What a recipe may look at in an input directory, read for it by the SDK before anything is
 * created on the server.
 */
export interface InputListing {
  /** The directory, for messages. */
  readonly dir: string;
  /** Every regular file, as a relative path with `/` separators, sorted. */
  readonly files: readonly string[];
  /** The text of one of `files` (UTF-8). */
  readText(relativePath: string): Promise<string>;
}

/**
 * Shell setup a recipe's programs need on a machine (OpenFOAM's `etc/bashrc`). The runner looks
 * for the first script that exists (a `*` may stand for one path segment), checks the binaries
 * and the version with it sourced, and runs each command of a task as
 * `bash -c '. <script> >/dev/null 2>&1; exec "$@"' <script> <argv...>`: a shell deliberately, but
 * the argv is still passed through untouched.
 */
export interface RecipeEnvironment {
  /** Candidate scripts, most specific first. */
  readonly sourceScripts: readonly string[];
}

/** Container runtimes a recipe image can run with. */
export type ContainerRuntime = "podman" | "apptainer";

/**
 * A container image that provides the recipe's binaries, for hosts that do not have them on
 * `PATH`. `run(dir, { container: { image } })` wraps each command with {@link containerCommand}
 * (`podman run ... <image> <argv...>` with the working directory mounted at the same path).
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
  /**
   * Looks into the input directory once the main file is known, before the task is created:
   * throws an InvalidInputError naming what is missing, or returns facts (such as the solver
   * named in a dictionary) merged into the options given to `defaultCommands` and `defaultEnv`.
   */
  inspectInput?(
    input: InputListing,
    options: RecipeCommandOptions,
  ): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** The commands to run when the user gives none; empty when the user must give them. */
  defaultCommands(options: RecipeCommandOptions): Command[];
  /** Environment for the default commands (the user's `env` wins key by key). */
  defaultEnv?(options: RecipeCommandOptions): Record<string, string>;
  /** Shell setup the programs need on the machine (see {@link RecipeEnvironment}). */
  readonly environment?: RecipeEnvironment | undefined;
  /**
   * The solver's own error in the tail of its output, or undefined when it reports none. The
   * runner uses it as the failure reason of a non-zero exit, and fails a task whose commands
   * exited 0 when it finds one (CalculiX exits 0 on some input errors).
   */
  findError?(output: { readonly stdout: string; readonly stderr: string }): string | undefined;
  /** A container image known to provide the binaries (a suggestion; users give their own). */
  readonly containerImage?: ContainerImageSpec | undefined;
}

/** The lines of `text` that match `pattern`, each with up to `after` lines after it, or undefined. */
export function linesMatching(text: string, pattern: RegExp, after = 0): string | undefined {
  const lines = text.split("\n");
  const picked: string[] = [];
  let lastTaken = -1;
  lines.forEach((line, index) => {
    if (!pattern.test(line)) return;
    for (
      let i = Math.max(index, lastTaken + 1);
      i <= Math.min(index + after, lines.length - 1);
      i++
    ) {
      const taken = lines[i];
      if (taken !== undefined && taken.trim() !== "") picked.push(taken.trimEnd());
      lastTaken = i;
    }
  });
  return picked.length === 0 ? undefined : picked.join("\n");
}

/**
 * `argv` run in a container `image` with the task's working directory mounted at the same path
 * (filled in by the runner, see {@link PLACEHOLDERS}) and the given env keys passed through.
 */
export function containerCommand(
  runtime: ContainerRuntime,
  image: string,
  argv: Command,
  envKeys: readonly string[] = [],
): string[] {
  const dir = PLACEHOLDERS.workdir;
  switch (runtime) {
    case "podman":
      return [
        "podman",
        "run",
        "--rm",
        "--volume",
        `${dir}:${dir}`,
        "--workdir",
        dir,
        ...envKeys.flatMap((key) => ["--env", key]),
        image,
        ...argv,
      ];
    case "apptainer":
      // apptainer passes the host environment through by default.
      return ["apptainer", "exec", "--bind", dir, "--pwd", dir, `docker://${image}`, ...argv];
  }
}

/** True when a command runs through a container runtime (so host setup does not apply). */
export function isContainerCommand(argv: Command): boolean {
  return argv[0] === "podman" || argv[0] === "apptainer";
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
