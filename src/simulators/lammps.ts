/**
 * `lammps`: `lmp -in <input>` (Debian package `lammps`). Options: `vars` (`-var name value` for
 * each entry, e.g. a temperature sweep), `args` (extra arguments), `np` (MPI ranks).
 */
import { InvalidInputError } from "../domain/errors.js";
import type { RecipeCommandOptions, SimulatorRecipe } from "./recipe.js";
import { linesMatching } from "./recipe.js";
import { MPI_ENV, argsOption, mpiRanks, underMpirun } from "./recipe-options.js";

const NAME = "lammps";

function varArgs(options: RecipeCommandOptions): string[] {
  const vars = options.vars;
  if (vars === undefined) return [];
  if (typeof vars !== "object" || vars === null || Array.isArray(vars)) {
    throw new InvalidInputError(
      `simulator ${NAME}: option vars must be an object of name → value, e.g. { vars: { T: 1.5 } }`,
    );
  }
  return Object.entries(vars as Record<string, unknown>).flatMap(([name, value]) => {
    if (!/^[A-Za-z0-9_]+$/.test(name) || !["string", "number"].includes(typeof value)) {
      throw new InvalidInputError(
        `simulator ${NAME}: option vars.${name} must be a word name with a string or number value, not ${JSON.stringify(value)}`,
      );
    }
    return ["-var", name, String(value)];
  });
}

/** The built-in LAMMPS recipe. */
export const lammps: SimulatorRecipe = {
  name: NAME,
  description: "LAMMPS molecular dynamics: lmp -in <input script>",
  binaries: ["lmp"],
  versionCommand: ["lmp", "-h"],
  // "Large-scale Atomic/Molecular Massively Parallel Simulator - 29 Sep 2021 - Update 2"
  parseVersion: (output) => /Parallel Simulator\s*-\s*(.+?)\s*$/m.exec(output)?.[1],
  mainInput: {
    option: "mainFile",
    description: "the LAMMPS input script (in.* or *.in)",
    patterns: ["in.*", "*.in", "*.lmp"],
  },
  defaultCommands(options) {
    const mainFile = options.mainFile;
    if (mainFile === undefined) return [];
    const argv = [
      "lmp",
      "-in",
      mainFile,
      ...varArgs(options),
      ...argsOption(options, NAME, "args"),
    ];
    const np = mpiRanks(options, NAME);
    return [np === undefined ? argv : underMpirun(np, argv)];
  },
  defaultEnv: (options) => (mpiRanks(options, NAME) === undefined ? {} : { ...MPI_ENV }),
  // "ERROR: Unknown command: foo bar (src/input.cpp:274)" then "Last command: foo bar".
  findError: ({ stdout, stderr }) => linesMatching(`${stderr}\n${stdout}`, /^(ERROR|Last command)/),
  containerImage: { image: "docker.io/lammps/lammps:stable", runtimes: ["podman", "apptainer"] },
};
