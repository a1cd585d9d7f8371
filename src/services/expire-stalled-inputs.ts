// A task whose input never arrives (the client was killed, or the server restarted mid-upload
// and the client gave up) would sit in `pending-input` forever. After `inputTimeoutMs` with no
// upload running in this process it ends `failed`, with a reason that says to submit it again.
import type { Task } from "../domain/task.js";
import type { ServiceDeps } from "./service-deps.js";
import { uploadsInProgress } from "./submit-task.js";
import { publishTask } from "./task-events.js";

export const DEFAULT_INPUT_TIMEOUT_MS = 15 * 60_000;

/** One sweep; returns how many tasks it failed. */
export async function expireStalledInputs(deps: ServiceDeps): Promise<number> {
  const timeoutMs = deps.settings.inputTimeoutMs ?? DEFAULT_INPUT_TIMEOUT_MS;
  const now = deps.clock();
  const uploading = uploadsInProgress(deps);
  let expired = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.store.listTasks({ statuses: ["pending-input"], limit: 500, cursor });
    for (const task of page.tasks) {
      if (now - task.createdAt < timeoutMs || uploading.has(task.id)) continue;
      if (await failStalled(deps, task, timeoutMs, now)) expired += 1;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return expired;
}

async function failStalled(
  deps: ServiceDeps,
  task: Task,
  timeoutMs: number,
  now: number,
): Promise<boolean> {
  const reason = `input upload did not finish within ${Math.round(timeoutMs / 1000)} s of submission (the client stopped or the connection was cut); submit the task again`;
  try {
    const failed = await deps.store.transitionTask(task.id, {
      to: "failed",
      at: now,
      reason,
      detail: "input-timeout",
      expect: { fromStatuses: ["pending-input"] },
      patch: { reason, endedAt: now, metrics: { totalMs: now - task.createdAt } },
    });
    publishTask(deps, failed);
    return true;
  } catch {
    // The upload finished (or the task was killed) between the list and now: nothing to do.
    return false;
  }
}
