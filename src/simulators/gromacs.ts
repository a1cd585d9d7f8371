/**
 * `gromacs` (Debian package `gromacs`): `gmx mdrun` on a run input `.tpr`, or `gmx grompp` then
 * `gmx mdrun` from a `.mdp` with the `.gro` structure and `.top` topology next to it. mdrun uses
 * the machine's CPUs as threads; with `np` it runs `gmx_mpi mdrun` under mpirun, one thread a
 * rank. Options: `structure`, `topology` (pick among several), `maxwarn` (grompp), `mdrunArgs`.
 */
import { InvalidInputError } from "../domain/errors.js";
import type { Command } from "../domain/task.js";
import type { RecipeCommandOptions, SimulatorRecipe } from "./recipe.js";
import { PLACEHOLDERS, linesMatching } from "./recipe.js";
import {
  MPI_ENV,
  argsOption,
  mpiRanks,
  pickCompanionFile,
  stringOption,
  underMpirun,
} from "./recipe-options.js";

const NAME = "gromacs";
/** What grompp writes and mdrun reads when the input starts from a .mdp. */
const RUN_INPUT = "topol.tpr";

function mdrun(tpr: string, options: RecipeCommandOptions): Command {
  const extra = argsOption(options, NAME, "mdrunArgs");
  const np = mpiRanks(options, NAME);
  if (np === undefined) return ["gmx", "mdrun", "-s", tpr, "-nt", PLACEHOLDERS.cpus, ...extra];
  return underMpirun(np, ["gmx_mpi", "mdrun", "-s", tpr, "-ntomp", "1", ...extra]);
}

function grompp(mdp: string, options: RecipeCommandOptions): Command {
  const structure = stringOption(options, NAME, "structure");
  const topology = stringOption(options, NAME, "topology");
  if (structure === undefined || topology === undefined) {
    throw new InvalidInputError(
      `simulator ${NAME}: grompp needs options structure and topology (run() finds them next to ${mdp})`,
    );
  }
  const maxwarn: unknown = options.maxwarn;
  const isCount = typeof maxwarn === "number" && Number.isInteger(maxwarn) && maxwarn >= 0;
  if (maxwarn !== undefined && !isCount) {
    throw new InvalidInputError(
      `simulator ${NAME}: option maxwarn must be a non-negative integer, not ${JSON.stringify(maxwarn)}`,
    );
  }
  return [
    ...["gmx", "grompp", "-f", mdp, "-c", structure, "-p", topology, "-o", RUN_INPUT],
    ...(typeof maxwarn === "number" ? ["-maxwarn", String(maxwarn)] : []),
  ];
}

/** The built-in GROMACS recipe. */
export const gromacs: SimulatorRecipe = {
  name: NAME,
  description: "GROMACS molecular dynamics: gmx mdrun on a .tpr, or grompp + mdrun from a .mdp",
  binaries: ["gmx"],
  versionCommand: ["gmx", "--version"],
  // "GROMACS version:    2022.5-Debian_2022.5_2"
  parseVersion: (output) => /GROMACS version:\s*(\S+)/.exec(output)?.[1],
  mainInput: {
    option: "mainFile",
    description: "a run input (*.tpr) or run parameters (*.mdp)",
    patterns: ["*.tpr", "*.mdp"],
  },
  inspectInput(input, options) {
    const mainFile = options.mainFile;
    if (mainFile === undefined || !mainFile.endsWith(".mdp")) return {};
    const common = { simulator: NAME, dir: input.dir, mainFile };
    return {
      structure: pickCompanionFile(input.files, {
        ...common,
        given: stringOption(options, NAME, "structure"),
        extension: ".gro",
        what: "a structure file",
        option: "structure",
      }),
      topology: pickCompanionFile(input.files, {
        ...common,
        given: stringOption(options, NAME, "topology"),
        extension: ".top",
        what: "a topology file",
        option: "topology",
      }),
    };
  },
  defaultCommands(options) {
    const mainFile = options.mainFile;
    if (mainFile === undefined) return [];
    if (mainFile.endsWith(".tpr")) return [mdrun(mainFile, options)];
    if (mainFile.endsWith(".mdp")) return [grompp(mainFile, options), mdrun(RUN_INPUT, options)];
    throw new InvalidInputError(
      `simulator ${NAME}: the main file must be a .tpr (mdrun) or a .mdp (grompp + mdrun), not ${mainFile}`,
    );
  },
  defaultEnv: (options) => (mpiRanks(options, NAME) === undefined ? {} : { ...MPI_ENV }),
  // "Fatal error:" then the message, up to GROMACS's "For more information" line.
  findError: ({ stdout, stderr }) =>
    linesMatching(`${stderr}\n${stdout}`, /^(Fatal error:|Error in user input|ERROR \d+ \[)/, 4),
  containerImage: { image: "docker.io/gromacs/gromacs:2022.2", runtimes: ["podman", "apptainer"] },
};
