// Heartbeats renew the lease of the running task every `intervalMs`. The answer also carries a
// kill the control channel may have missed and the group's "stop after this task".
import { FlotillaError } from "../domain/errors.js";
import type { RunnerApi } from "./runner-api.js";

export interface HeartbeatOptions {
  readonly api: RunnerApi;
  readonly machineId: () => string;
  readonly taskId: string;
  readonly intervalMs: number;
  readonly onKillRequested: () => void;
  readonly onStopRequested: () => void;
  /** The task is no longer this machine's (LEASE_LOST, or the server forgot the machine). */
  readonly onLeaseLost: () => void;
  readonly log: (line: string) => void;
}

export interface Heartbeat {
  stop(): void;
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const beat = async (): Promise<void> => {
    try {
      const answer = await options.api.heartbeat(options.machineId(), options.taskId);
      if (stopped) return;
      if (answer.killRequested) options.onKillRequested();
      if (answer.stop) options.onStopRequested();
    } catch (error) {
      if (stopped) return;
      const code = error instanceof FlotillaError ? error.code : undefined;
      if (code === "LEASE_LOST" || code === "MACHINE_NOT_FOUND" || code === "TASK_NOT_FOUND") {
        options.onLeaseLost();
        return;
      }
      // A missed beat is not fatal: the lease outlasts several intervals.
      options.log(
        `heartbeat for task ${options.taskId} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };

  // The next beat is scheduled when the previous one is answered, so beats never pile up.
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void beat().finally(schedule);
    }, options.intervalMs);
  };
  schedule();

  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
