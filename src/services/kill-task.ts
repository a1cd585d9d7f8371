// Kill in every non-terminal state. Before a machine holds the task it is killed at once (and so
// can never be dispatched); on a machine, the kill is recorded and sent through the control
// channel, and the task becomes `killed` only when the machine confirms its process group is gone.
import { FlotillaError } from "../domain/errors.js";
import type { Task } from "../domain/task.js";
import { getVisibleTask, requireUser, type Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";
import { publishTask } from "./task-events.js";

export type KillResult = { result: "killed" | "kill-requested"; task: Task };

export async function killTask(
  deps: ServiceDeps,
  principal: Principal,
  id: string,
): Promise<KillResult> {
  requireUser(principal);
  const task = await getVisibleTask(deps, principal, id);
  return killVisibleTask(deps, task, "killed by user");
}

/** Kills a task the caller may act on; `reason` ends up in the history and the record. */
export async function killVisibleTask(
  deps: ServiceDeps,
  task: Task,
  reason: string,
): Promise<KillResult> {
  // The status may change between read and write (a machine claims it); retry on a lost race.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const current = attempt === 0 ? task : ((await deps.store.getTask(task.id)) ?? task);
    switch (current.status) {
      case "killed":
        return { result: "killed", task: current };
      case "success":
      case "failed":
        throw new FlotillaError(
          "TASK_ALREADY_FINISHED",
          `task ${current.id} is already ${current.status}; nothing to kill`,
          { details: { taskId: current.id, status: current.status } },
        );
      case "pending-input":
      case "in-queue": {
        const killed = await tryTransition(deps, current, reason);
        if (killed !== undefined) return { result: "killed", task: killed };
        break;
      }
      case "submitted":
      case "started":
        return { result: "kill-requested", task: await requestMachineKill(deps, current, reason) };
    }
  }
  throw new FlotillaError("UNAVAILABLE", `task ${task.id} kept changing state; try the kill again`);
}

async function tryTransition(
  deps: ServiceDeps,
  task: Task,
  reason: string,
): Promise<Task | undefined> {
  const now = deps.clock();
  try {
    const killed = await deps.store.transitionTask(task.id, {
      to: "killed",
      at: now,
      reason,
      expect: { fromStatuses: [task.status] },
      patch: {
        reason,
        endedAt: now,
        killRequestedAt: now,
        metrics: { totalMs: now - task.createdAt },
      },
    });
    publishTask(deps, killed);
    return killed;
  } catch (error) {
    if (error instanceof FlotillaError && error.code === "INVALID_TRANSITION") return undefined;
    throw error;
  }
}

async function requestMachineKill(deps: ServiceDeps, task: Task, reason: string): Promise<Task> {
  const updated =
    task.killRequestedAt === undefined
      ? await deps.store.patchTask(task.id, { killRequestedAt: deps.clock(), reason })
      : task;
  if (updated.machine !== undefined) {
    deps.control.send(updated.machine.id, {
      type: "kill",
      taskId: task.id,
      graceMs: task.killGraceMs,
    });
  }
  publishTask(deps, updated);
  return updated;
}
