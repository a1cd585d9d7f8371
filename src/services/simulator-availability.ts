// Whether a machine group can run a simulator, from what its machines reported at register.
//
// The rule: a task is refused at submit when the group has registered machines that are alive
// and none of them reported the simulator (or the version asked for). A group with no machine
// registered yet (just started, the embedded default made on demand, Slurm pilots still
// pending) accepts the task: it waits for the first machine, and a machine that claims a task
// it cannot run fails it at once with the reason (runner/host-commands.ts) rather than leaving
// it queued. `custom`, recipes without binaries, names outside the catalog (users' own recipes)
// and tasks whose every command runs in a container are never refused here.
import { FlotillaError } from "../domain/errors.js";
import type { Machine } from "../domain/machine-group.js";
import type { Command } from "../domain/task.js";
import type { ClaimFilter } from "../store/task-store.js";
import { findRecipe, RECIPES } from "../simulators/catalog.js";
import { isContainerCommand } from "../simulators/recipe.js";
import type { ServiceDeps } from "./service-deps.js";

function isAlive(machine: Machine): boolean {
  return machine.status !== "stopped" && machine.status !== "lost";
}

export async function checkSimulatorAvailable(
  deps: ServiceDeps,
  groupName: string,
  request: {
    readonly simulator: string;
    readonly simulatorVersion?: string | undefined;
    readonly commands: readonly Command[];
  },
): Promise<void> {
  const recipe = findRecipe(request.simulator);
  if (recipe === undefined || recipe.binaries.length === 0) return;
  if (request.commands.every((argv) => isContainerCommand(argv))) return;
  const machines = (await deps.store.listMachines(groupName)).filter(isAlive);
  if (machines.length === 0) return;
  const versions = new Set(
    machines.flatMap((machine) => {
      const version = machine.simulators[request.simulator];
      return version === undefined ? [] : [version];
    }),
  );
  const wanted = request.simulatorVersion;
  if (versions.size > 0 && (wanted === undefined || versions.has(wanted))) return;
  const others = Object.keys(machines[0]?.simulators ?? {}).sort();
  const message =
    versions.size === 0
      ? `no machine of group ${groupName} has ${request.simulator} (its ${machines.length} machine(s) reported: ${others.join(", ") || "nothing"}); install ${recipe.binaries.join(", ")} on them, submit to another group (\`flotilla simulators list\`), or run it in a container image`
      : `no machine of group ${groupName} has ${request.simulator} ${wanted ?? ""}; they have ${[...versions].sort().join(", ")}: ask for one of these or none`;
  throw new FlotillaError("SIMULATOR_UNAVAILABLE", message, {
    details: { simulator: request.simulator, machineGroup: groupName },
  });
}

/** The version of the task's simulator on `machine`, to record when it claims the task. */
export function versionOnMachine(machine: Machine, simulator: string): string | undefined {
  const recipe = findRecipe(simulator);
  if (recipe === undefined || recipe.binaries.length === 0) return undefined;
  return machine.simulators[simulator];
}

// Recipes any machine runs (no binary to find): `custom`.
const RUN_ANYWHERE = RECIPES.filter((recipe) => recipe.binaries.length === 0).map((r) => r.name);

/**
 * What `machine` may claim in a group of unlike machines (see ClaimFilter): the tasks of the
 * simulators it reported, and `custom`. A task whose every command runs in a container is
 * matched by its simulator's name all the same.
 */
export function claimFilterFor(machine: Machine): ClaimFilter {
  return { simulators: [...RUN_ANYWHERE, ...Object.keys(machine.simulators)] };
}
