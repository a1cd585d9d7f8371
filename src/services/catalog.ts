// Projects and simulators as users see them: projects from their tasks, simulators from what the
// machines of each group reported when they registered.
import { requireUser, type Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";
import { listMachineGroups } from "./machine-groups.js";

export async function listProjects(
  deps: ServiceDeps,
  principal: Principal,
): Promise<readonly { name: string; taskCount: number }[]> {
  requireUser(principal);
  return deps.store.listProjects(principal.role === "admin" ? undefined : principal.id);
}

export interface SimulatorAvailability {
  readonly name: string;
  /** Machine group name → the versions its running machines reported. */
  readonly machineGroups: Record<string, string[]>;
}

export async function listSimulatorAvailability(
  deps: ServiceDeps,
  principal: Principal,
): Promise<SimulatorAvailability[]> {
  const byName = new Map<string, Record<string, Set<string>>>();
  for (const { group, machines } of await listMachineGroups(deps, principal)) {
    if (group.status !== "running") continue;
    for (const machine of machines) {
      if (machine.status === "stopped" || machine.status === "lost") continue;
      for (const [name, version] of Object.entries(machine.simulators)) {
        const groups = byName.get(name) ?? {};
        (groups[group.name] ??= new Set()).add(version);
        byName.set(name, groups);
      }
    }
  }
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, groups]) => ({
      name,
      machineGroups: Object.fromEntries(
        Object.entries(groups).map(([group, versions]) => [group, [...versions].sort()]),
      ),
    }));
}
