// A real Slurm cluster for the Slurm suites (scripts/slurm-dev-cluster.sh start), and loud skips
// when there is none: with CI=true a missing cluster is a failure.
import { describeRequiring } from "./requires.js";
import { buildSinfo, hasUsableNode, runSlurmCommand } from "../../src/providers/slurm-commands.js";

/** Why Slurm cannot be used here, or undefined when a node takes jobs. */
async function probe(): Promise<string | undefined> {
  try {
    const states = await runSlurmCommand(buildSinfo(), { timeoutMs: 15_000 });
    if (hasUsableNode(states)) return undefined;
    return `no Slurm node takes jobs (sinfo says: ${states.trim().replace(/\n/g, ", ") || "nothing"}); run: bash scripts/slurm-dev-cluster.sh start`;
  } catch (error) {
    return `Slurm is not usable here (${error instanceof Error ? error.message : String(error)}); run: bash scripts/slurm-dev-cluster.sh start`;
  }
}

export const slurmUnavailable = await probe();

/** The suite, when a Slurm node takes jobs; a loud skip, or with CI=true a failure, when not. */
export function describeWithSlurm(name: string, register: () => void): void {
  describeRequiring(name, "Slurm", slurmUnavailable, register);
}
