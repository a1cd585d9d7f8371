// Streams a task's stdout or stderr: what is stored, then (follow) every append until the task
// ends. Woken by log appends and status changes, never by a timer.
import { isTerminalStatus } from "../domain/task-status.js";
import { getVisibleTask, requireUser, type Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";

export interface FollowLogOptions {
  readonly stream: "stdout" | "stderr";
  readonly follow: boolean;
  readonly offset?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export async function* readTaskLog(
  deps: ServiceDeps,
  principal: Principal,
  taskId: string,
  options: FollowLogOptions,
): AsyncGenerator<Uint8Array> {
  requireUser(principal);
  await getVisibleTask(deps, principal, taskId);
  let offset = options.offset ?? 0;
  let changed = true;
  let wake: () => void = () => undefined;
  const onChange = (): void => {
    changed = true;
    wake();
  };
  const unsubscribeLog = deps.events.logs.subscribe(`${taskId}:${options.stream}`, onChange);
  const unsubscribeTask = deps.events.tasks.subscribe(taskId, onChange);
  options.signal?.addEventListener("abort", onChange);
  try {
    for (;;) {
      changed = false;
      const ended = isTerminalStatus((await deps.store.getTask(taskId))?.status ?? "failed");
      for await (const chunk of deps.blobs.readLog(
        taskId,
        options.stream,
        offset,
      ) as AsyncIterable<Buffer>) {
        offset += chunk.byteLength;
        yield chunk;
      }
      if (!options.follow || ended || options.signal?.aborted === true) return;
      if (!changed) await new Promise<void>((resolve) => (wake = resolve));
      wake = () => undefined;
    }
  } finally {
    unsubscribeLog();
    unsubscribeTask();
    options.signal?.removeEventListener("abort", onChange);
  }
}
