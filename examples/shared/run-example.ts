/**
 * What every simulator example shares: a private flotilla server (data in
 * examples/<name>/.flotilla, or EXAMPLE_DATA_DIR), a local machine group, and cleanup of both
 * also when something fails. Each example's main.ts only submits its case and reads the results.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Flotilla,
  MachineGroup,
  isFlotillaError,
  openLocalServer,
  type TaskView,
} from "../../src/sdk/index.js";

// tsc puts examples in build/examples/; the inputs are not compiled, so use the source tree.
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The example's input directory (examples/<name>/input). */
export function inputDir(name: string): string {
  return join(REPO_ROOT, "examples", name, "input");
}

/** Where an example downloads its outputs: results/<name>/<label> (or EXAMPLE_RESULTS_DIR). */
export function resultsDir(name: string, label = ""): string {
  return join(process.env.EXAMPLE_RESULTS_DIR ?? join(REPO_ROOT, "results", name), label);
}

/**
 * Starts a server and a local group of `numMachines`, runs `work`, then terminates the group and
 * stops the server. Sets the exit code: 0 when `work` returns true.
 */
export async function runExample(
  name: string,
  numMachines: number,
  work: (group: MachineGroup) => Promise<boolean>,
): Promise<void> {
  try {
    const dataDir = process.env.EXAMPLE_DATA_DIR ?? join(REPO_ROOT, "examples", name, ".flotilla");
    const server = await openLocalServer({ dataDir, port: 0 });
    try {
      const group = new MachineGroup({
        provider: "local",
        numMachines,
        client: new Flotilla(server.connection),
      });
      try {
        await group.start();
        process.exitCode = (await work(group)) ? 0 : 1;
      } finally {
        if (group.name !== undefined) await group.terminate().catch(() => undefined);
      }
    } finally {
      await server.close();
    }
  } catch (error) {
    console.error(`${name} failed: ${isFlotillaError(error) ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

/** Prints how a task ended: status, simulator version, machine and computation time. */
export function report(task: TaskView): boolean {
  const version = task.simulatorVersion === undefined ? "" : ` ${task.simulatorVersion}`;
  const seconds = ((task.metrics.computationMs ?? 0) / 1000).toFixed(2);
  console.log(
    `task ${task.id}: ${task.status} (${task.simulator}${version}, computation ${seconds} s)`,
  );
  if (task.status !== "success") console.log(task.reason ?? "");
  return task.status === "success";
}
