// The server side of the runner protocol: register, claim (long poll), started, heartbeat, logs,
// outputs, finish. Every task-scoped call checks that the task is leased to the calling machine.
import type { Readable } from "node:stream";
import { FlotillaError, LeaseLostError, taskNotFound } from "../domain/errors.js";
import { createId } from "../domain/ids.js";
import type { Machine } from "../domain/machine-group.js";
import type { Task } from "../domain/task.js";
import { waitForEvent } from "../lib/event-hub.js";
import { requireRunner, type Principal } from "./principal.js";
import type { ControlMessage, ControlReply } from "./control-channel.js";
import type { ServiceDeps } from "./service-deps.js";
import { claimFilterFor, versionOnMachine } from "./simulator-availability.js";
import { publishTask } from "./task-events.js";
import type { TaskPatch } from "../store/task-store.js";

/** A claim within this long of the machine's last write does not rewrite it as idle. */
const IDLE_WRITE_SKIP_MS = 1_000;

export interface RegisterMachineRequest {
  readonly machineGroup: string;
  readonly host: string;
  readonly pid?: number | undefined;
  readonly machineId?: string | undefined;
  readonly providerRef?: string | undefined;
  readonly simulators: Readonly<Record<string, string>>;
  readonly cpus?: number | undefined;
  readonly memoryBytes?: number | undefined;
}

export async function registerMachine(
  deps: ServiceDeps,
  principal: Principal,
  request: RegisterMachineRequest,
): Promise<Machine> {
  requireRunner(principal, request.machineGroup);
  const group = await deps.store.getMachineGroup(request.machineGroup);
  if (group === undefined || group.status !== "running") {
    throw new FlotillaError(
      "MACHINE_GROUP_TERMINATED",
      `machine group ${request.machineGroup} is ${group?.status ?? "unknown"}; this runner should stop`,
    );
  }
  const now = deps.clock();
  const existing =
    request.machineId === undefined ? undefined : await deps.store.getMachine(request.machineId);
  if (existing !== undefined) {
    if (existing.machineGroup !== request.machineGroup) {
      throw new FlotillaError(
        "FORBIDDEN",
        `machine ${existing.id} belongs to another machine group`,
      );
    }
    return deps.store.updateMachine(existing.id, {
      status: existing.taskId === undefined ? "idle" : existing.status,
      lastSeenAt: now,
      host: request.host,
      ...(request.pid === undefined ? {} : { pid: request.pid }),
      simulators: request.simulators,
    });
  }
  return deps.store.createMachine({ ...request, id: request.machineId ?? createId(now), at: now });
}

async function getOwnMachine(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
): Promise<Machine> {
  const machine = await deps.store.getMachine(machineId);
  if (machine === undefined) {
    throw new FlotillaError(
      "MACHINE_NOT_FOUND",
      `machine ${machineId} is not registered; register again`,
    );
  }
  requireRunner(principal, machine.machineGroup);
  return machine;
}

/** Long poll: the next task of the machine's group, or undefined after `waitMs`. */
export async function claimTask(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<Task | undefined> {
  const machine = await getOwnMachine(deps, principal, machineId);
  if (machine.status === "stopped") {
    // A runner the server replaced (it restarted after a crash and started fresh machines):
    // it may finish the task it holds, but must not take new ones.
    throw new FlotillaError(
      "MACHINE_GROUP_TERMINATED",
      `machine ${machineId} was stopped and replaced by the server; this runner should exit`,
    );
  }
  const held = await heldTask(deps, machine);
  if (held !== undefined) return held;
  // A machine that finished its task a moment ago is idle already (finish wrote it): no write.
  const justSeen = deps.clock() - machine.lastSeenAt < IDLE_WRITE_SKIP_MS;
  if (machine.status !== "idle" || machine.taskId !== undefined || !justSeen) {
    await deps.store.updateMachine(machineId, {
      lastSeenAt: deps.clock(),
      status: "idle",
      taskId: null,
    });
  }
  // Known once the task is chosen; set in the claim's own transaction.
  const claimPatch = (task: Task): TaskPatch | undefined => {
    const queueMs =
      task.inputUploadedAt === undefined ? undefined : deps.clock() - task.inputUploadedAt;
    // The version that runs is the claiming machine's (shown by `tasks info`).
    const simulatorVersion = versionOnMachine(machine, task.simulator);
    return queueMs === undefined && simulatorVersion === undefined
      ? undefined
      : {
          ...(queueMs === undefined ? {} : { metrics: { queueMs } }),
          ...(simulatorVersion === undefined ? {} : { simulatorVersion }),
        };
  };
  const filter = claimFilterFor(machine);
  const claimed = await waitForEvent(
    deps.events.queues,
    machine.machineGroup,
    async () => {
      const group = await deps.store.getMachineGroup(machine.machineGroup);
      if (group?.status !== "running") return undefined;
      const now = deps.clock();
      return deps.store.claimNextTask(
        machine.machineGroup,
        { id: machine.id, host: machine.host },
        now,
        now + deps.settings.leaseMs,
        claimPatch,
        filter,
      );
    },
    { timeoutMs: waitMs, signal },
  );
  if (claimed === undefined) return undefined;
  if (signal?.aborted === true) {
    // The runner went away while we claimed for it: put the task back at once.
    await returnToQueue(deps, claimed, "the machine disconnected while claiming");
    return undefined;
  }
  publishTask(deps, claimed);
  return claimed;
}

/**
 * The machine's next task if one is waiting, asked right after it finished one (no long poll).
 * A machine that may not claim (stopped, group terminating) gets none here: its next own claim
 * hears why.
 */
export async function claimWithoutWaiting(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
): Promise<Task | undefined> {
  try {
    return await claimTask(deps, principal, machineId, 0);
  } catch (error) {
    if (error instanceof FlotillaError) return undefined;
    throw error;
  }
}

/**
 * The task given to this machine that it never started: a machine claims only when it holds
 * none, so the answer that gave it (a claim, or a finish with claimNext) was lost on the way.
 * Given again (lease renewed) rather than left to wait for its lease to expire.
 */
async function heldTask(deps: ServiceDeps, machine: Machine): Promise<Task | undefined> {
  if (machine.taskId === undefined) return undefined;
  const task = await deps.store.getTask(machine.taskId);
  if (task?.status !== "submitted" || task.machine?.id !== machine.id) return undefined;
  return deps.store
    .renewLease(task.id, machine.id, deps.clock() + deps.settings.leaseMs)
    .catch((error: unknown) => {
      if (error instanceof LeaseLostError) return undefined;
      throw error;
    });
}

async function returnToQueue(deps: ServiceDeps, task: Task, reason: string): Promise<void> {
  const back = await deps.store.transitionTask(task.id, {
    to: "in-queue",
    at: deps.clock(),
    reason,
    patch: { machine: null, leaseExpiresAt: null },
  });
  publishTask(deps, back);
  deps.events.queues.publish(back.machineGroup, back.id);
}

/** The task, if it is leased to this machine; LEASE_LOST otherwise. */
export async function getLeasedTask(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  taskId: string,
): Promise<Task> {
  await getOwnMachine(deps, principal, machineId);
  const task = await deps.store.getTask(taskId);
  if (task === undefined) throw taskNotFound(taskId);
  const onMachine = task.status === "submitted" || task.status === "started";
  if (!onMachine || task.machine?.id !== machineId) throw new LeaseLostError(taskId, machineId);
  return task;
}

/** The input archive to send with the claim answer, when it is small enough to. */
export async function smallTaskInput(
  deps: ServiceDeps,
  taskId: string,
  maxBytes: number,
): Promise<Buffer | undefined> {
  return deps.blobs.readSmallInput(taskId, maxBytes).catch(() => undefined);
}

export async function openTaskInput(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  taskId: string,
): Promise<Readable> {
  await getLeasedTask(deps, principal, machineId, taskId);
  return deps.blobs.openInput(taskId);
}

/**
 * The runner reports started once the commands run (STARTED_REPORT_DELAY_MS after they start).
 * A kill requested meanwhile is already on its way to the machine (control channel, heartbeat
 * answer): the task is started now and ends `killed` when the machine confirms, with what the
 * commands wrote until then.
 */
export async function markStarted(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  taskId: string,
  report: { inputDownloadMs: number },
): Promise<Task> {
  const task = await getLeasedTask(deps, principal, machineId, taskId);
  return recordStarted(deps, task, machineId, report, deps.clock());
}

/**
 * submitted → started at `at` (before now when the report came folded into finish), with the
 * input's metrics; the lease is renewed from now.
 */
export async function recordStarted(
  deps: ServiceDeps,
  task: Task,
  machineId: string,
  report: { inputDownloadMs: number },
  at: number,
): Promise<Task> {
  const now = deps.clock();
  const started = await deps.store.transitionTask(task.id, {
    to: "started",
    at,
    reason: "commands started",
    detail: "computation-started",
    machineId,
    expect: { fromStatuses: ["submitted"], machineId },
    patch: {
      startedAt: at,
      leaseExpiresAt: now + deps.settings.leaseMs,
      metrics: { inputDownloadMs: report.inputDownloadMs },
    },
  });
  publishTask(deps, started);
  return started;
}

export async function heartbeat(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  taskId: string | undefined,
): Promise<{ killRequested: boolean; stop: boolean }> {
  const machine = await getOwnMachine(deps, principal, machineId);
  const now = deps.clock();
  await deps.store.updateMachine(machineId, { lastSeenAt: now });
  const group = await deps.store.getMachineGroup(machine.machineGroup);
  const stop = group?.status !== "running" || machine.status === "stopped";
  if (taskId === undefined) return { killRequested: false, stop };
  const task = await deps.store.renewLease(taskId, machineId, now + deps.settings.leaseMs);
  return { killRequested: task.killRequestedAt !== undefined, stop };
}

export async function appendTaskLog(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  taskId: string,
  stream: "stdout" | "stderr",
  chunk: Uint8Array,
): Promise<void> {
  await getLeasedTask(deps, principal, machineId, taskId);
  if (chunk.byteLength === 0) return;
  await deps.blobs.appendLog(taskId, stream, chunk);
  deps.events.logs.publish(`${taskId}:${stream}`, chunk.byteLength);
}

export async function pollControl(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<ControlMessage[]> {
  await getOwnMachine(deps, principal, machineId);
  await deps.store.updateMachine(machineId, { lastSeenAt: deps.clock() });
  return deps.control.poll(machineId, waitMs, signal);
}

export async function replyToControl(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  requestId: string,
  reply: ControlReply,
): Promise<void> {
  await getOwnMachine(deps, principal, machineId);
  deps.control.reply(machineId, requestId, reply);
}
