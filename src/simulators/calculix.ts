/**
 * `calculix`: `ccx -i <job>` (Debian package `calculix-ccx`), where the job is the main `.inp`
 * file without its extension. CalculiX uses threads, not MPI: `OMP_NUM_THREADS` is the
 * machine's CPU count.
 */
import { InvalidInputError } from "../domain/errors.js";
import type { SimulatorRecipe } from "./recipe.js";
import { PLACEHOLDERS, firstVersionNumber, linesMatching } from "./recipe.js";
import { argsOption } from "./recipe-options.js";

const NAME = "calculix";

/** The built-in CalculiX recipe. */
export const calculix: SimulatorRecipe = {
  name: NAME,
  description: "CalculiX finite elements: ccx -i <job> (threads = the machine's CPUs)",
  binaries: ["ccx"],
  versionCommand: ["ccx", "-v"],
  // "This is Version 2.20"
  parseVersion: (output) => firstVersionNumber(/Version\s+\S+/.exec(output)?.[0] ?? ""),
  mainInput: {
    option: "mainFile",
    description: "the CalculiX job file (*.inp)",
    patterns: ["*.inp"],
  },
  defaultCommands(options) {
    const mainFile = options.mainFile;
    if (mainFile === undefined) return [];
    if (options.np !== undefined) {
      throw new InvalidInputError(
        `simulator ${NAME} runs with threads, not MPI: drop option np (it uses the machine's CPUs)`,
      );
    }
    if (!mainFile.endsWith(".inp")) {
      throw new InvalidInputError(
        `simulator ${NAME}: the job file must end in .inp (ccx adds it), not ${mainFile}`,
      );
    }
    return [["ccx", "-i", mainFile.slice(0, -".inp".length), ...argsOption(options, NAME, "args")]];
  },
  defaultEnv: () => ({ OMP_NUM_THREADS: PLACEHOLDERS.cpus }),
  // ccx prints " *ERROR in readinput: cannot open file x.inp" and may still exit 0.
  findError: ({ stdout, stderr }) => linesMatching(`${stderr}\n${stdout}`, /\*ERROR/, 2),
};
