// Machine groups: create and start (through the group's provider), list, terminate. Terminating
// kills the group's tasks (queued ones at once, running ones through their machines) and stops
// its machines.
import { FlotillaError, machineGroupNotFound } from "../domain/errors.js";
import { createId } from "../domain/ids.js";
import {
  DEFAULT_MAX_IDLE_MS,
  type Machine,
  type MachineGroup,
  type Provider,
} from "../domain/machine-group.js";
import { DEFAULT_MACHINE_GROUP } from "../domain/task.js";
import { isTerminalStatus } from "../domain/task-status.js";
import { waitForEvent } from "../lib/event-hub.js";
import { killVisibleTask } from "./kill-task.js";
import { canSeeOwner, requireUser, type Principal } from "./principal.js";
import type { MachineProvider, ServiceDeps } from "./service-deps.js";
import { publishTask } from "./task-events.js";
import { createRunnerToken } from "./users.js";

export interface CreateMachineGroupRequest {
  readonly name?: string | undefined;
  readonly provider: Provider;
  readonly numMachines: number;
  /** Elastic groups (checked by the protocol schema): see ElasticLimits. */
  readonly minMachines?: number | undefined;
  readonly maxMachines?: number | undefined;
  readonly maxIdleMs?: number | undefined;
  readonly options?: Readonly<Record<string, unknown>> | undefined;
  readonly costPerHour?: number | undefined;
}

export interface MachineGroupDetails {
  readonly group: MachineGroup;
  readonly machines: readonly Machine[];
  readonly queued: number;
  /** Started by the provider, not registered yet (a Slurm pilot waiting in the queue). */
  readonly starting: number;
}

function providerFor(deps: ServiceDeps, provider: Provider): MachineProvider {
  const found = deps.providers[provider];
  if (found === undefined) {
    throw new FlotillaError(
      "INVALID_INPUT",
      `provider ${provider} is not available on this server; use one of: ${Object.keys(deps.providers).join(", ")}`,
    );
  }
  return found;
}

export async function createMachineGroup(
  deps: ServiceDeps,
  principal: Principal,
  request: CreateMachineGroupRequest,
): Promise<MachineGroupDetails> {
  requireUser(principal);
  const provider = providerFor(deps, request.provider);
  const now = deps.clock();
  const group = await deps.store.createMachineGroup({
    name: request.name ?? `mg-${createId(now)}`,
    owner: principal.id,
    provider: request.provider,
    numMachines: request.numMachines,
    options: { ...request.options, ...elasticOptions(request) },
    costPerHour: request.costPerHour,
    createdAt: now,
  });
  deps.placement?.adopt(group.name);
  const token = await createRunnerToken(deps, group.name);
  try {
    await provider.startMachines(group, group.numMachines, token);
  } catch (error) {
    await deps.store.setMachineGroupStatus(group.name, "terminated", deps.clock());
    // The provider refused the group's options: the user's to fix, said as the provider said it.
    if (error instanceof FlotillaError && error.code === "INVALID_INPUT") throw error;
    throw new FlotillaError(
      "UNAVAILABLE",
      `could not start the machines of ${group.name}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return describeGroup(deps, group);
}

/** Elastic limits are stored with the provider options (domain ElasticLimits). */
function elasticOptions(request: CreateMachineGroupRequest): Record<string, number> {
  if (request.maxMachines === undefined) return {};
  return {
    minMachines: request.minMachines ?? 0,
    maxMachines: request.maxMachines,
    maxIdleMs: request.maxIdleMs ?? DEFAULT_MAX_IDLE_MS,
  };
}

/** The embedded `default` group: one local machine per core, made on first use. */
export async function ensureDefaultMachineGroup(
  deps: ServiceDeps,
  principal: Principal,
): Promise<MachineGroup | undefined> {
  if (deps.providers.local === undefined) return undefined;
  const details = await createMachineGroup(
    deps,
    { ...principal, role: "admin" },
    {
      name: DEFAULT_MACHINE_GROUP,
      provider: "local",
      numMachines: deps.settings.defaultGroupMachines,
    },
  ).catch((error: unknown) => {
    // Two first submissions raced: the other one made it.
    if (error instanceof FlotillaError && error.code === "MACHINE_GROUP_EXISTS") return undefined;
    throw error;
  });
  return details?.group ?? (await deps.store.getMachineGroup(DEFAULT_MACHINE_GROUP));
}

async function describeGroup(deps: ServiceDeps, group: MachineGroup): Promise<MachineGroupDetails> {
  const [machines, queued] = await Promise.all([
    deps.store.listMachines(group.name),
    deps.store.countQueued(group.name),
  ]);
  const registered = new Set(machines.map((machine) => machine.id));
  const started =
    group.status === "running" ? (deps.providers[group.provider]?.listMachines(group) ?? []) : [];
  return { group, machines, queued, starting: started.filter((id) => !registered.has(id)).length };
}

async function getVisibleGroup(
  deps: ServiceDeps,
  principal: Principal,
  name: string,
): Promise<MachineGroup> {
  requireUser(principal);
  const group = await deps.store.getMachineGroup(name);
  const shared = name === DEFAULT_MACHINE_GROUP;
  if (group === undefined || !(shared || canSeeOwner(principal, group.owner)))
    throw machineGroupNotFound(name);
  return group;
}

export async function getMachineGroup(
  deps: ServiceDeps,
  principal: Principal,
  name: string,
): Promise<MachineGroupDetails> {
  return describeGroup(deps, await getVisibleGroup(deps, principal, name));
}

export async function listMachineGroups(
  deps: ServiceDeps,
  principal: Principal,
): Promise<MachineGroupDetails[]> {
  requireUser(principal);
  const groups = await deps.store.listMachineGroups(
    principal.role === "admin" ? undefined : principal.id,
  );
  return Promise.all(groups.map((group) => describeGroup(deps, group)));
}

/** Kills the group's tasks, waits (bounded) for running ones to confirm, stops its machines. */
export async function terminateMachineGroup(
  deps: ServiceDeps,
  principal: Principal,
  name: string,
): Promise<MachineGroupDetails> {
  const group = await getVisibleGroup(deps, principal, name);
  if (group.status === "terminated") return describeGroup(deps, group);
  await deps.store.setMachineGroupStatus(name, "terminating", deps.clock());
  const active = await deps.store.listActiveTasks(name);
  await Promise.all(
    active.map((task) => killVisibleTask(deps, task, `machine group ${name} was terminated`)),
  );
  await Promise.all(
    active.map((task) => waitUntilTerminal(deps, task.id, task.killGraceMs + 5_000)),
  );
  await providerFor(deps, group.provider).stopMachines(group);
  await killOrphanedTasks(deps, name);
  for (const machine of await deps.store.listMachines(name)) {
    if (machine.status !== "stopped")
      await deps.store.updateMachine(machine.id, { status: "stopped", taskId: null });
    deps.control.forget(machine.id);
  }
  const terminated = await deps.store.setMachineGroupStatus(name, "terminated", deps.clock());
  deps.events.queues.publish(name, "terminated");
  return describeGroup(deps, terminated);
}

async function waitUntilTerminal(
  deps: ServiceDeps,
  taskId: string,
  timeoutMs: number,
): Promise<void> {
  await waitForEvent(
    deps.events.tasks,
    taskId,
    async () => {
      const task = await deps.store.getTask(taskId);
      return task === undefined || isTerminalStatus(task.status) ? true : undefined;
    },
    { timeoutMs },
  );
}

/** Tasks whose machine stopped before confirming the kill: their processes went with it. */
async function killOrphanedTasks(deps: ServiceDeps, name: string): Promise<void> {
  for (const task of await deps.store.listActiveTasks(name)) {
    const now = deps.clock();
    const killed = await deps.store
      .transitionTask(task.id, {
        to: "killed",
        at: now,
        reason: `machine group ${name} was terminated; its machine stopped`,
        detail: "group-terminated",
        expect: { fromStatuses: [task.status] },
        patch: { endedAt: now, leaseExpiresAt: null, metrics: { totalMs: now - task.createdAt } },
      })
      .catch(() => undefined);
    if (killed !== undefined) publishTask(deps, killed);
  }
}

/**
 * A token for a runner started by hand on another host (`flotilla runner start`): it may only
 * claim and run tasks of this group. The group's owner or an admin asks; shown once.
 */
export async function issueRunnerToken(
  deps: ServiceDeps,
  principal: Principal,
  name: string,
): Promise<string> {
  requireUser(principal);
  const group = await getVisibleGroup(deps, principal, name);
  if (group.status !== "running") {
    throw new FlotillaError(
      "MACHINE_GROUP_TERMINATED",
      `machine group ${name} is ${group.status}; start a new group and ask for its runner token`,
    );
  }
  return createRunnerToken(deps, name);
}
