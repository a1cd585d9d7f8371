// Suites that need real simulators on this host, and loud skips when they are missing: locally
// the suite is skipped with the reason on stderr; with CI=true a missing simulator is a failure
// (.ci/run installs them from Debian).
import { describeRequiring } from "./requires.js";
import { detectSimulators } from "../../src/runner/detect-simulators.js";
import { findRecipe } from "../../src/simulators/catalog.js";

/** What detection finds here, once per test process. */
export const HOST_SIMULATORS = await detectSimulators();

function missing(required: readonly string[]): string | undefined {
  const absent = required.filter((name) => HOST_SIMULATORS[name] === undefined);
  if (absent.length === 0) return undefined;
  const what = absent
    .map((name) => `${name} (${findRecipe(name)?.binaries.join(", ") ?? "?"})`)
    .join(", ");
  return `not on this host: ${what}; install with apt-get install gromacs openfoam lammps calculix-ccx openmpi-bin (see .ci/run)`;
}

/** The suite, when every simulator in `required` is on this host; else a loud skip or a failure. */
export function describeWithSimulators(
  name: string,
  required: readonly string[],
  register: () => void,
): void {
  describeRequiring(name, "real simulators", missing(required), register);
}
