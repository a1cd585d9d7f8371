// The machine's main loop: claim (a 30 s long poll, so an idle machine makes two requests a
// minute and still starts a task the moment it is queued), run it with heartbeats, repeat. A
// finish answer may bring the next task along (busy group): it runs without a claim.
// Network errors back off from 200 ms to 5 s; a server that forgot us gets a new register.
import { hostname } from "node:os";
import type { RunnerConfig } from "../config/runner-config.js";
import { FlotillaError } from "../domain/errors.js";
import type { RegisterResponse } from "../protocol/runner.js";
import { createBackoff, isTransientError, pause, retry } from "./backoff.js";
import { describeHost } from "./detect-simulators.js";
import { startHeartbeat } from "./heartbeat.js";
import type { ClaimedTask, RunnerApi } from "./runner-api.js";
import { startTask, type TaskContext, type TaskRun } from "./run-task.js";

const CLAIM_WAIT_MS = 30_000;

/** Who this machine is, as the server last told it (register may be repeated). */
export interface MachineIdentity {
  id: string;
  heartbeatMs: number;
}

/** Registers (retrying while the server is unreachable); refusals such as UNAUTHORIZED throw. */
export async function registerMachine(
  api: RunnerApi,
  config: RunnerConfig,
  machineId: string | undefined,
  options: {
    signal?: AbortSignal;
    attempts?: number;
    log: (line: string) => void;
    /** What this host can run (detected once by the caller). */
    simulators: Readonly<Record<string, string>>;
  },
): Promise<RegisterResponse> {
  const simulators = { ...options.simulators };
  const request = {
    machineGroup: config.machineGroup,
    host: hostname(),
    pid: process.pid,
    ...(machineId === undefined ? {} : { machineId }),
    ...(config.providerRef === undefined ? {} : { providerRef: config.providerRef }),
    simulators,
    ...describeHost(),
    ...(config.cpus === undefined ? {} : { cpus: config.cpus }),
  };
  return retry(() => api.register(request), {
    attempts: options.attempts ?? 20,
    signal: options.signal,
    onRetry: (error, delayMs) =>
      options.log(`register failed, retrying in ${delayMs} ms: ${describe(error)}`),
  });
}

export interface ClaimLoopOptions {
  readonly api: RunnerApi;
  readonly config: RunnerConfig;
  readonly machine: MachineIdentity;
  readonly task: Omit<TaskContext, "machineId" | "api">;
  /** Stops claiming (and ends an open claim); a running task is not touched by this. */
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

export interface ClaimLoop {
  /** Resolves when the loop has ended and its last task is finished or dropped. */
  readonly done: Promise<void>;
  current(): TaskRun | undefined;
  /** Stop claiming after the current task (the group is terminating). */
  drain(): void;
}

export function startClaimLoop(options: ClaimLoopOptions): ClaimLoop {
  let current: TaskRun | undefined;
  let draining = false;
  const keepGoing = (): boolean => !options.signal.aborted && !draining;
  const run = async (): Promise<void> => {
    const backoff = createBackoff();
    // The task the last finish answer brought (a busy group): run without claiming.
    let next: ClaimedTask | undefined;
    while (next !== undefined || keepGoing()) {
      const claimed =
        next ??
        (await claimOnce(options).catch(async (error: unknown) => {
          if (!keepGoing()) return undefined;
          if (!(await recoverFromClaimError(options, error))) draining = true;
          else await pause(backoff.nextDelayMs(), options.signal);
          return undefined;
        }));
      next = undefined;
      if (claimed === undefined) continue;
      backoff.reset();
      current = startTask(
        { ...options.task, api: options.api, machineId: options.machine.id, claimNext: keepGoing },
        claimed.task,
        claimed.input,
      );
      // Stopped while the finish that brought this task was answered: hand it back.
      if (options.signal.aborted) current.state.stop("the runner was stopped");
      next = await runWithHeartbeat(options, current, () => (draining = true));
      current = undefined;
    }
  };
  return {
    done: run(),
    current: () => current,
    drain: () => {
      draining = true;
    },
  };
}

async function claimOnce(options: ClaimLoopOptions): Promise<ClaimedTask | undefined> {
  const claimed = await options.api.claim(options.machine.id, CLAIM_WAIT_MS, options.signal);
  if (claimed !== undefined) {
    const { id, attempt } = claimed.task;
    options.log(`claimed task ${id} (attempt ${attempt})`);
  }
  return claimed;
}

/** True when claiming may go on; false when the server refuses this machine for good. */
async function recoverFromClaimError(options: ClaimLoopOptions, error: unknown): Promise<boolean> {
  if (error instanceof FlotillaError && error.code === "MACHINE_NOT_FOUND") {
    options.log(`the server does not know machine ${options.machine.id}; registering again`);
    try {
      const answer = await registerMachine(options.api, options.config, options.machine.id, {
        signal: options.signal,
        log: options.log,
        simulators: options.task.host?.simulators ?? {},
      });
      options.machine.id = answer.machineId;
      options.machine.heartbeatMs = answer.heartbeatMs;
      return true;
    } catch (registerError) {
      return recoverFromClaimError(options, registerError);
    }
  }
  if (isTransientError(error)) {
    options.log(`claim failed: ${describe(error)}`);
    return true;
  }
  // UNAUTHORIZED, FORBIDDEN, MACHINE_GROUP_TERMINATED...: retrying cannot help.
  options.log(`the server refuses machine ${options.machine.id}: ${describe(error)}; stopping`);
  return false;
}

/** Runs the task with heartbeats; resolves with the next task when its finish brought one. */
async function runWithHeartbeat(
  options: ClaimLoopOptions,
  run: TaskRun,
  onStopRequested: () => void,
): Promise<ClaimedTask | undefined> {
  const heartbeat = startHeartbeat({
    api: options.api,
    machineId: () => options.machine.id,
    taskId: run.state.task.id,
    intervalMs: options.machine.heartbeatMs,
    onKillRequested: () => run.state.kill("killed by user"),
    onStopRequested: () => {
      options.log("the machine group is terminating; stopping after this task");
      onStopRequested();
    },
    onLeaseLost: () => run.state.loseLease(),
    log: options.log,
  });
  try {
    return await run.done;
  } finally {
    heartbeat.stop();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
