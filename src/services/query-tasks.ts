// Reading tasks: get, list, long-poll wait, queue position, outputs manifest and archive.
import type { OutputArchive } from "../blobs/blob-store.js";
import { FlotillaError } from "../domain/errors.js";
import type { OutputManifest, Task } from "../domain/task.js";
import { isTerminalStatus, type TaskStatus } from "../domain/task-status.js";
import { waitForEvent } from "../lib/event-hub.js";
import type { TaskPage } from "../store/task-store.js";
import { getVisibleTask, requireUser, type Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";

export async function getTask(deps: ServiceDeps, principal: Principal, id: string): Promise<Task> {
  requireUser(principal);
  return getVisibleTask(deps, principal, id);
}

export interface ListTasksRequest {
  readonly statuses?: readonly TaskStatus[] | undefined;
  readonly project?: string | undefined;
  readonly machineGroup?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export async function listTasks(
  deps: ServiceDeps,
  principal: Principal,
  request: ListTasksRequest,
): Promise<TaskPage> {
  requireUser(principal);
  return deps.store.listTasks({
    ...request,
    owner: principal.role === "admin" ? undefined : principal.id,
  });
}

/**
 * Resolves with the task once terminal (or, with `changedFrom`, once its status differs from
 * it), or as it is after `timeoutMs`.
 */
export async function waitForTask(
  deps: ServiceDeps,
  principal: Principal,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
  changedFrom?: TaskStatus,
): Promise<Task> {
  requireUser(principal);
  const isDone = (task: Task): boolean =>
    isTerminalStatus(task.status) || (changedFrom !== undefined && task.status !== changedFrom);
  const first = await getVisibleTask(deps, principal, id);
  if (isDone(first)) return first;
  const done = await waitForEvent(
    deps.events.tasks,
    id,
    async () => {
      const task = await deps.store.getTask(id);
      return task !== undefined && isDone(task) ? task : undefined;
    },
    { timeoutMs, signal },
  );
  return done ?? (await getVisibleTask(deps, principal, id));
}

export async function getOutputManifest(
  deps: ServiceDeps,
  principal: Principal,
  id: string,
): Promise<OutputManifest> {
  const task = await getTask(deps, principal, id);
  const manifest = await deps.blobs.getOutputManifest(id);
  if (manifest !== undefined) return manifest;
  throw outputsNotAvailable(task);
}

export async function openOutputArchive(
  deps: ServiceDeps,
  principal: Principal,
  id: string,
  files: readonly string[] | undefined,
): Promise<OutputArchive> {
  await getOutputManifest(deps, principal, id);
  return deps.blobs.packOutputs(id, files);
}

function outputsNotAvailable(task: Task): FlotillaError {
  const why = isTerminalStatus(task.status)
    ? `task ${task.id} ended ${task.status} without outputs (${task.reason ?? "it never ran"})`
    : `task ${task.id} is ${task.status}; outputs are stored when it ends: wait with \`flotilla tasks wait ${task.id}\``;
  return new FlotillaError("OUTPUTS_NOT_AVAILABLE", why, {
    details: { taskId: task.id, status: task.status },
  });
}
