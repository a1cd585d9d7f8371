// Elastic machine groups: between `minMachines` and `maxMachines`, one machine per task that waits
// or runs; a machine idle for `maxIdleMs` is released. Growing is push-driven (a task entering the
// group's queue wakes the scaler); shrinking happens on the server's periodic sweep.
import {
  elasticLimitsOf,
  type ElasticLimits,
  type MachineGroup,
  type MachineProvider,
} from "../domain/machine-group.js";
import type { ServiceDeps } from "./service-deps.js";
import { createRunnerToken } from "./users.js";

export interface ElasticScaler {
  /** Finds the running elastic groups and scales each; call periodically. */
  sweep(): Promise<void>;
  /** Scales one group now (after its queue grew). */
  scale(name: string): Promise<void>;
  /** Stops listening to queue events. */
  close(): void;
}

export function createElasticScaler(deps: ServiceDeps): ElasticScaler {
  const subscriptions = new Map<string, () => void>();
  const tokens = new Map<string, Promise<string>>();
  // When each machine was first seen idle; cleared when it is seen busy.
  const idleSince = new Map<string, number>();
  // One scaling step per group at a time: steps of one group queue up behind each other.
  const chains = new Map<string, Promise<void>>();

  // The step of each group that has not begun yet: a queue change while one waits needs no step
  // of its own (the waiting step will see it), so a burst of submissions costs at most two steps
  // (the one running and the one waiting), not one per task.
  const waiting = new Map<string, Promise<void>>();

  const scale = (name: string): Promise<void> => {
    const queued = waiting.get(name);
    if (queued !== undefined) return queued;
    const next = (chains.get(name) ?? Promise.resolve())
      .then(() => {
        waiting.delete(name);
        return scaleOnce(name);
      })
      .catch((error: unknown) =>
        deps.log("elastic scaling failed", { group: name, error: String(error) }),
      );
    waiting.set(name, next);
    chains.set(name, next);
    return next;
  };

  const forgetGroup = (name: string): void => {
    subscriptions.get(name)?.();
    subscriptions.delete(name);
    tokens.delete(name);
  };

  const scaleOnce = async (name: string): Promise<void> => {
    const group = await deps.store.getMachineGroup(name);
    const limits = group === undefined ? undefined : elasticLimitsOf(group);
    const provider = group === undefined ? undefined : deps.providers[group.provider];
    if (group?.status !== "running" || limits === undefined || provider === undefined) {
      forgetGroup(name);
      return;
    }
    const live = provider.listMachines(group);
    // Counted up to the maximum, not listed: this runs on every queue change, and the queue
    // may be long.
    const counts = await deps.store.countActiveTasks(name, limits.maxMachines);
    const queued = counts["in-queue"];
    const demand = queued + counts.submitted + counts.started;
    const wanted = Math.min(limits.maxMachines, Math.max(limits.minMachines, demand));
    if (live.length < wanted) {
      tokens.set(name, tokens.get(name) ?? createRunnerToken(deps, name));
      const token = await (tokens.get(name) as Promise<string>);
      deps.log("elastic group grows", { group: name, from: live.length, to: wanted });
      await provider.startMachines(group, wanted - live.length, token);
      return;
    }
    if (queued === 0) await releaseIdle(group, limits, provider, live, wanted);
  };

  const releaseIdle = async (
    group: MachineGroup,
    limits: ElasticLimits,
    provider: MachineProvider,
    live: readonly string[],
    wanted: number,
  ): Promise<void> => {
    const now = deps.clock();
    const records = new Map((await deps.store.listMachines(group.name)).map((m) => [m.id, m]));
    const expired: string[] = [];
    for (const id of live) {
      const machine = records.get(id);
      // A machine that has not registered yet is starting, not idle.
      if (machine?.status !== "idle" || machine.taskId !== undefined) {
        idleSince.delete(id);
        continue;
      }
      const since = idleSince.get(id) ?? now;
      idleSince.set(id, since);
      if (now - since >= limits.maxIdleMs) expired.push(id);
    }
    for (const id of expired.slice(0, Math.max(0, live.length - wanted))) {
      deps.log("elastic group releases an idle machine", { group: group.name, machineId: id });
      await provider.stopMachine(group, id);
      idleSince.delete(id);
      await deps.store.updateMachine(id, { status: "stopped", taskId: null });
      deps.control.forget(id);
    }
  };

  return {
    async sweep() {
      for (const group of await deps.store.listMachineGroups()) {
        if (group.status !== "running" || elasticLimitsOf(group) === undefined) continue;
        // Another server sharing the database runs this group's machines: it scales it.
        if (deps.placement?.hosts(group.name) === false) continue;
        if (!subscriptions.has(group.name)) {
          subscriptions.set(
            group.name,
            deps.events.queues.subscribe(group.name, () => void scale(group.name)),
          );
        }
        await scale(group.name);
      }
    },
    scale,
    close() {
      for (const name of [...subscriptions.keys()]) forgetGroup(name);
    },
  };
}
