// Creating a task and receiving its input: pending-input → in-queue (or failed when the input
// archive is rejected). Nothing is created for a request that names an unknown group.
import type { Readable } from "node:stream";
import { FlotillaError, isFlotillaError, machineGroupNotFound } from "../domain/errors.js";
import { createId } from "../domain/ids.js";
import { DEFAULT_MACHINE_GROUP, DEFAULT_PROJECT, type Command, type Task } from "../domain/task.js";
import { ensureDefaultMachineGroup } from "./machine-groups.js";
import { getVisibleTask, requireUser, type Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";
import { checkSimulatorAvailable } from "./simulator-availability.js";
import { publishTask } from "./task-events.js";

export interface SubmitTaskRequest {
  readonly simulator: string;
  readonly simulatorVersion?: string | undefined;
  readonly commands: readonly Command[];
  readonly machineGroup?: string | undefined;
  readonly project?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly killGraceMs?: number | undefined;
}

export async function submitTask(
  deps: ServiceDeps,
  principal: Principal,
  request: SubmitTaskRequest,
): Promise<Task> {
  requireUser(principal);
  const groupName = request.machineGroup ?? DEFAULT_MACHINE_GROUP;
  let group = await deps.store.getMachineGroup(groupName);
  // The embedded default group is made on first use, and made again after it was released idle.
  if (
    groupName === DEFAULT_MACHINE_GROUP &&
    (group === undefined || group.status === "terminated")
  ) {
    group = await ensureDefaultMachineGroup(deps, principal);
  }
  if (
    group === undefined ||
    (principal.role !== "admin" &&
      group.owner !== principal.id &&
      groupName !== DEFAULT_MACHINE_GROUP)
  ) {
    throw machineGroupNotFound(groupName);
  }
  if (group.status !== "running") {
    throw new FlotillaError(
      "MACHINE_GROUP_TERMINATED",
      `machine group ${groupName} is ${group.status}; start a new group and submit to it`,
    );
  }
  await checkSimulatorAvailable(deps, groupName, request);
  const now = deps.clock();
  return deps.store.createTask({
    id: createId(now),
    owner: principal.id,
    project: request.project ?? DEFAULT_PROJECT,
    simulator: request.simulator,
    simulatorVersion: request.simulatorVersion,
    commands: request.commands,
    machineGroup: groupName,
    env: request.env ?? {},
    killGraceMs: request.killGraceMs ?? deps.settings.defaultKillGraceMs,
    createdAt: now,
  });
}

const uploads = new WeakMap<ServiceDeps, Set<string>>();

/** Ids of the tasks whose input is being received right now by this server process. */
export function uploadsInProgress(deps: ServiceDeps): Set<string> {
  let set = uploads.get(deps);
  if (set === undefined) {
    set = new Set();
    uploads.set(deps, set);
  }
  return set;
}

/** Stores the input archive (streamed, or a small one sent with the create) and queues the task. */
export async function receiveInput(
  deps: ServiceDeps,
  principal: Principal,
  taskId: string,
  body: Readable | Buffer,
): Promise<Task> {
  requireUser(principal);
  const task = await getVisibleTask(deps, principal, taskId);
  if (task.status !== "pending-input") {
    if (!Buffer.isBuffer(body)) body.resume();
    throw new FlotillaError(
      "INPUT_ALREADY_UPLOADED",
      `task ${taskId} is ${task.status}; its input was already received (submit a new task to change it)`,
    );
  }
  let stored: { bytes: number; files: number; archiveBytes: number };
  const uploading = uploadsInProgress(deps);
  uploading.add(taskId);
  try {
    stored = await deps.blobs.writeInput(taskId, body, deps.settings.archiveLimits);
  } catch (error) {
    if (isFlotillaError(error) && error.code === "INPUT_REJECTED") {
      await failRejectedInput(deps, task, error.message);
    }
    throw error;
  } finally {
    uploading.delete(taskId);
  }
  const now = deps.clock();
  const queued = await deps.store.transitionTask(taskId, {
    to: "in-queue",
    at: now,
    reason: "input uploaded",
    expect: { fromStatuses: ["pending-input"] },
    patch: {
      inputUploadedAt: now,
      metrics: {
        inputBytes: stored.bytes,
        inputFiles: stored.files,
        inputUploadMs: now - task.createdAt,
      },
    },
  });
  publishTask(deps, queued);
  deps.events.queues.publish(queued.machineGroup, queued.id);
  return queued;
}

async function failRejectedInput(deps: ServiceDeps, task: Task, message: string): Promise<void> {
  const now = deps.clock();
  const failed = await deps.store.transitionTask(task.id, {
    to: "failed",
    at: now,
    reason: `input rejected: ${message}`,
    detail: "input-rejected",
    expect: { fromStatuses: ["pending-input"] },
    patch: {
      reason: `input rejected: ${message}`,
      endedAt: now,
      metrics: { totalMs: now - task.createdAt },
    },
  });
  publishTask(deps, failed);
}
