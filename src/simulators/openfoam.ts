/**
 * `openfoam` (Debian package `openfoam`, environment from its `etc/bashrc`): a case directory.
 * With an `Allrun` script at the top, that script runs (`bash ./Allrun`); otherwise `blockMesh`
 * (when `system/blockMeshDict` is there) then the solver named by `application` in
 * `system/controlDict`. With `np`, the solver runs under mpirun between `decomposePar` and
 * `reconstructPar`, which needs `system/decomposeParDict`.
 */
import { InvalidInputError } from "../domain/errors.js";
import type { Command } from "../domain/task.js";
import type { InputListing, RecipeCommandOptions, SimulatorRecipe } from "./recipe.js";
import { linesMatching } from "./recipe.js";
import { MPI_ENV, mpiRanks, stringOption, underMpirun } from "./recipe-options.js";

const NAME = "openfoam";
const CONTROL_DICT = "system/controlDict";

/** The `application` entry of a controlDict, or undefined. */
export function readApplication(controlDict: string): string | undefined {
  const withoutComments = controlDict.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  return /^\s*application\s+([A-Za-z0-9_]+)\s*;/m.exec(withoutComments)?.[1];
}

async function inspectCase(
  input: InputListing,
  options: RecipeCommandOptions,
): Promise<Record<string, unknown>> {
  const mainFile = options.mainFile;
  if (mainFile === undefined || mainFile === "Allrun" || mainFile.endsWith("/Allrun")) return {};
  const application =
    stringOption(options, NAME, "application") ?? readApplication(await input.readText(mainFile));
  if (application === undefined) {
    throw new InvalidInputError(
      `simulator ${NAME}: ${mainFile} in ${input.dir} names no solver; add "application icoFoam;" (your solver) to it, or pass options: { application: "<solver>" }`,
    );
  }
  const blockMesh = input.files.includes("system/blockMeshDict");
  if (!blockMesh && !input.files.some((file) => file.startsWith("constant/polyMesh/"))) {
    throw new InvalidInputError(
      `simulator ${NAME}: case ${input.dir} has no mesh: add system/blockMeshDict (blockMesh runs first) or a ready constant/polyMesh`,
    );
  }
  if (mpiRanks(options, NAME) !== undefined && !input.files.includes("system/decomposeParDict")) {
    throw new InvalidInputError(
      `simulator ${NAME}: option np runs the solver in parallel, which needs system/decomposeParDict in ${input.dir} (numberOfSubdomains equal to np); add it or drop np`,
    );
  }
  return { application, blockMesh };
}

/** The built-in OpenFOAM recipe. */
export const openfoam: SimulatorRecipe = {
  name: NAME,
  description: "OpenFOAM case: blockMesh + the controlDict application, or the case's Allrun",
  binaries: ["blockMesh"],
  environment: {
    sourceScripts: [
      "/usr/share/openfoam/etc/bashrc",
      "/usr/lib/openfoam/openfoam*/etc/bashrc",
      "/opt/openfoam*/etc/bashrc",
      "/opt/OpenFOAM/OpenFOAM-*/etc/bashrc",
    ],
  },
  versionCommand: ["sh", "-c", 'echo "OpenFOAM $WM_PROJECT_VERSION"'],
  parseVersion: (output) => /OpenFOAM\s+(\S+)/.exec(output)?.[1],
  mainInput: {
    option: "mainFile",
    description: "an OpenFOAM case (Allrun, or system/controlDict)",
    patterns: ["Allrun", CONTROL_DICT],
  },
  inspectInput: inspectCase,
  defaultCommands(options) {
    const mainFile = options.mainFile;
    if (mainFile === undefined) return [];
    if (mainFile === "Allrun" || mainFile.endsWith("/Allrun")) return [["bash", `./${mainFile}`]];
    const application = stringOption(options, NAME, "application");
    if (application === undefined) return [];
    const commands: Command[] = options.blockMesh === false ? [] : [["blockMesh"]];
    const np = mpiRanks(options, NAME);
    if (np === undefined) return [...commands, [application]];
    return [
      ...commands,
      ["decomposePar", "-force"],
      underMpirun(np, [application, "-parallel"]),
      ["reconstructPar"],
    ];
  },
  defaultEnv: (options) => (mpiRanks(options, NAME) === undefined ? {} : { ...MPI_ENV }),
  // "--> FOAM FATAL ERROR:" / "--> FOAM FATAL IO ERROR:" and the lines that explain it.
  findError: ({ stdout, stderr }) =>
    linesMatching(`${stderr}\n${stdout}`, /FOAM FATAL (IO )?ERROR/, 6),
};
