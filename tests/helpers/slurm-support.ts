// A real Slurm cluster for the Slurm suites (scripts/slurm-dev-cluster.sh start), and loud skips
// when there is none: with CI=true a missing cluster is a failure.
import { describe, it } from "node:test";
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

/**
 * Registers the suite when a Slurm node takes jobs. Otherwise the suite is skipped with the
 * reason on stderr, or, with CI=true, fails.
 */
export function describeWithSlurm(name: string, register: () => void): void {
  if (slurmUnavailable === undefined) {
    describe(name, register);
    return;
  }
  if (process.env.CI === "true") {
    describe(name, () => {
      it("needs Slurm (CI=true: a missing service is a failure)", () => {
        throw new Error(slurmUnavailable);
      });
    });
    return;
  }
  process.stderr.write(`\n*** SKIPPED ${name}: ${slurmUnavailable}\n\n`);
  describe(name, () => {
    it("needs Slurm", { skip: slurmUnavailable }, () => undefined);
  });
}
