// Leases: a task whose machine stopped heartbeating goes back to the queue with attempt + 1, or
// ends failed with "machine lost" once it has used its attempts. Runs on a timer in the server.
import type { Task } from "../domain/task.js";
import type { ServiceDeps } from "./service-deps.js";
import { publishTask } from "./task-events.js";

/**
 * Requeues (attempt + 1) or fails a task that lost its machine. Only if the task is still where
 * `task` saw it, on the same machine: another server's sweep may have requeued it already, and it
 * may even be running again elsewhere.
 */
export async function retryOrFail(deps: ServiceDeps, task: Task, why: string): Promise<Task> {
  const now = deps.clock();
  const machineId = task.machine?.id;
  const exhausted = task.attempt >= deps.settings.maxAttempts;
  const next = exhausted
    ? await deps.store.transitionTask(task.id, {
        to: "failed",
        at: now,
        reason: `machine lost: ${why} (attempt ${task.attempt} of ${deps.settings.maxAttempts})`,
        detail: "machine-lost",
        machineId,
        expect: { fromStatuses: [task.status], machineId },
        patch: {
          endedAt: now,
          leaseExpiresAt: null,
          reason: `machine lost: ${why}; gave up after ${task.attempt} attempts`,
          metrics: { totalMs: now - task.createdAt },
        },
      })
    : await deps.store.transitionTask(task.id, {
        to: "in-queue",
        at: now,
        reason: `machine lost: ${why}; retrying (attempt ${task.attempt + 1} of ${deps.settings.maxAttempts})`,
        detail: "machine-lost",
        machineId,
        expect: { fromStatuses: [task.status], machineId },
        patch: { attempt: task.attempt + 1, machine: null, leaseExpiresAt: null },
      });
  if (machineId !== undefined) {
    await deps.store
      .updateMachine(machineId, { status: "lost", taskId: null })
      .catch(() => undefined);
  }
  publishTask(deps, next);
  if (next.status === "in-queue") deps.events.queues.publish(next.machineGroup, next.id);
  return next;
}

/** One sweep: every task whose lease expired. Returns how many were handled. */
export async function reapExpiredLeases(deps: ServiceDeps): Promise<number> {
  const expired = await deps.store.listExpiredLeases(deps.clock());
  let handled = 0;
  for (const task of expired) {
    try {
      if (task.killRequestedAt !== undefined) await killLostTask(deps, task);
      else
        await retryOrFail(
          deps,
          task,
          `no heartbeat from machine ${task.machine?.id ?? "?"} before its lease expired`,
        );
      handled += 1;
    } catch (error) {
      // Raced with the machine's own report: the task moved on, nothing to do.
      deps.log("lease sweep skipped a task", { taskId: task.id, error: String(error) });
    }
  }
  return handled;
}

/** A task the user wanted killed whose machine vanished: it is killed, not retried. */
async function killLostTask(deps: ServiceDeps, task: Task): Promise<void> {
  const now = deps.clock();
  const machineId = task.machine?.id;
  const killed = await deps.store.transitionTask(task.id, {
    to: "killed",
    at: now,
    reason: `${task.reason ?? "killed by user"}; its machine was lost before confirming`,
    detail: "machine-lost",
    machineId,
    expect: { fromStatuses: [task.status], machineId },
    patch: { endedAt: now, leaseExpiresAt: null, metrics: { totalMs: now - task.createdAt } },
  });
  publishTask(deps, killed);
}

/**
 * A provider saw one of its machines end without being stopped (a Slurm pilot cancelled from
 * outside, its node failed, its time limit came): its task goes back to the queue or fails at
 * once, without waiting for the lease to expire, and the machine is marked lost.
 */
export async function handleLostMachine(
  deps: ServiceDeps,
  machineId: string,
  why: string,
): Promise<void> {
  const machine = await deps.store.getMachine(machineId);
  if (machine === undefined) return; // it never registered: no task can be on it
  for (const task of await deps.store.listTasksOnMachine(machine.machineGroup, machineId)) {
    try {
      if (task.killRequestedAt !== undefined) await killLostTask(deps, task);
      else await retryOrFail(deps, task, why);
    } catch (error) {
      // Raced with the machine's own last report: the task moved on, nothing to do.
      deps.log("lost machine: task moved on", { taskId: task.id, error: String(error) });
    }
  }
  if (machine.status !== "stopped")
    await deps.store.updateMachine(machineId, { status: "lost", taskId: null });
  deps.control.forget(machineId);
}
