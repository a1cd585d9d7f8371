// The end of a task on its machine: outputs received (verified against the runner's manifest),
// then the terminal status with exit code, reason and the duration of every phase.
import type { Readable } from "node:stream";
import type { OutputFile, OutputManifest, Task } from "../domain/task.js";
import type { TaskStatus } from "../domain/task-status.js";
import { retryOrFail } from "./reap-lost-machines.js";
import { getLeasedTask, recordStarted } from "./serve-runner.js";
import type { Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";
import { publishTask } from "./task-events.js";

export async function receiveOutputs(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  taskId: string,
  body: Readable,
): Promise<OutputManifest> {
  await getLeasedTask(deps, principal, machineId, taskId);
  return deps.blobs.writeOutputs(taskId, body, deps.settings.archiveLimits);
}

export interface FinishReport {
  readonly outcome: "exited" | "killed" | "error";
  readonly exitCode?: number | undefined;
  readonly signal?: string | undefined;
  readonly reason?: string | undefined;
  readonly computationMs?: number | undefined;
  readonly outputUploadMs?: number | undefined;
  readonly manifest?: readonly OutputFile[] | undefined;
  /** The started report, when the task ended before the runner sent it on its own. */
  readonly started?:
    { readonly inputDownloadMs: number; readonly startedMsAgo: number } | undefined;
}

export async function finishTask(
  deps: ServiceDeps,
  principal: Principal,
  machineId: string,
  taskId: string,
  report: FinishReport,
): Promise<Task> {
  const leased = await getLeasedTask(deps, principal, machineId, taskId);
  const task =
    report.started !== undefined && leased.status === "submitted"
      ? await recordStarted(
          deps,
          leased,
          machineId,
          report.started,
          startedAt(deps, leased, report.started),
        )
      : leased;
  if (report.outcome === "killed" && task.killRequestedAt === undefined) {
    // The machine stopped the task on its own (runner shut down): that is a lost machine.
    return retryOrFail(
      deps,
      task,
      report.reason ?? `machine ${machineId} stopped while running it`,
    );
  }
  const stored = await storedOutputs(deps, taskId, report);
  const mismatch = describeManifestMismatch(report.manifest, stored);
  const { status, reason, detail } =
    mismatch === undefined
      ? decideOutcome(task, report)
      : {
          status: "failed" as const,
          reason: `outputs were corrupted in transit: ${mismatch}`,
          detail: "outputs-corrupted",
        };
  const now = deps.clock();
  const finished = await deps.store.transitionTask(taskId, {
    to: status,
    at: now,
    reason,
    detail,
    machineId,
    expect: { fromStatuses: ["submitted", "started"], machineId },
    patch: {
      endedAt: now,
      leaseExpiresAt: null,
      exitCode: report.exitCode ?? null,
      signal: report.signal ?? null,
      reason: status === "success" ? null : reason,
      metrics: {
        computationMs: report.computationMs,
        outputUploadMs: report.outputUploadMs,
        outputBytes: stored?.totalBytes ?? 0,
        outputFiles: stored?.files.length ?? 0,
        totalMs: now - task.createdAt,
      },
    },
  });
  // A machine the server stopped (replaced after a restart) finishes its task but stays stopped.
  const stopped = (await deps.store.getMachine(machineId))?.status === "stopped";
  await deps.store.updateMachine(machineId, {
    status: stopped ? "stopped" : "idle",
    taskId: null,
    lastSeenAt: now,
  });
  publishTask(deps, finished);
  return finished;
}

/** When the commands started, by the server's clock; never before the task was claimed. */
function startedAt(deps: ServiceDeps, task: Task, started: { startedMsAgo: number }): number {
  const at = deps.clock() - Math.round(started.startedMsAgo);
  return Math.max(at, task.inputUploadedAt ?? task.createdAt);
}

/**
 * The outputs the server holds for this attempt. A runner that found no outputs sends an empty
 * manifest and skips the upload (one request and an archive less per task): the server then
 * records the empty manifest itself, replacing what an earlier attempt may have left.
 */
async function storedOutputs(
  deps: ServiceDeps,
  taskId: string,
  report: FinishReport,
): Promise<OutputManifest | undefined> {
  // A killed task that reports a manifest kept its outputs (the runner uploaded what it had).
  if (report.outcome !== "error" && report.manifest?.length === 0) {
    return deps.blobs.writeEmptyOutputs(taskId);
  }
  return deps.blobs.getOutputManifest(taskId);
}

function decideOutcome(
  task: Task,
  report: FinishReport,
): { status: TaskStatus; reason: string; detail?: string } {
  switch (report.outcome) {
    case "killed":
      return {
        status: "killed",
        reason: task.reason ?? "killed by user",
        detail: "process-group-gone",
      };
    case "error":
      return {
        status: "failed",
        reason: report.reason ?? "the runner could not run the task",
        detail: "runner-error",
      };
    case "exited":
      if (report.exitCode === 0) return { status: "success", reason: "exit code 0" };
      return {
        status: "failed",
        reason: exitReason(report),
        detail: report.signal === undefined ? "non-zero-exit" : "signalled",
      };
  }
}

function exitReason(report: FinishReport): string {
  const how =
    report.signal === undefined
      ? `exit code ${report.exitCode ?? "unknown"}`
      : `killed by signal ${report.signal}`;
  const tail = report.reason?.trimEnd();
  return tail === undefined || tail === "" ? how : `${how}; the output ends with:\n${tail}`;
}

function describeManifestMismatch(
  sent: readonly OutputFile[] | undefined,
  stored: OutputManifest | undefined,
): string | undefined {
  if (sent === undefined) return undefined;
  const storedByPath = new Map((stored?.files ?? []).map((file) => [file.path, file]));
  if (sent.length !== storedByPath.size) {
    return `the machine sent ${sent.length} files, the server received ${storedByPath.size}`;
  }
  for (const file of sent) {
    const received = storedByPath.get(file.path);
    if (received === undefined) return `${file.path} is missing`;
    if (received.sha256 !== file.sha256 || received.size !== file.size)
      return `${file.path} differs`;
  }
  return undefined;
}
