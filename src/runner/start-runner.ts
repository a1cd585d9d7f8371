// A machine: register, then the claim loop and the control channel side by side until stopped.
// Config in, handle out: the CLI (`flotilla runner start`) and end-to-end tests drive it alike.
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { RunnerConfig } from "../config/runner-config.js";
import { FlotillaError } from "../domain/errors.js";
import { HttpClient } from "../sdk/http-client.js";
import {
  registerMachine,
  startClaimLoop,
  type ClaimLoop,
  type MachineIdentity,
} from "./claim-loop.js";
import { runControlLoop, type ControlHandlers } from "./control.js";
import { describeHost, detectHostSimulators } from "./detect-simulators.js";
import { createProcessExecutor, type Executor } from "./executor.js";
import { introspectTask } from "./introspect.js";
import { createRunnerApi } from "./runner-api.js";

export interface StartRunnerOptions {
  /** Runs the commands; the real process-group executor unless a test substitutes one. */
  readonly executor?: Executor;
  /** One line per event worth knowing (claims, retries, ends); stderr with a timestamp by default. */
  readonly log?: (line: string) => void;
}

export interface RunnerHandle {
  /** The id the server knows this machine by. */
  readonly machineId: string;
  /** Stops claiming, kills the current task (it is reported killed) and waits for the end. */
  stop(): Promise<void>;
  /** Resolves when the runner has stopped: after stop(), a `stop` message, or a terminated group. */
  readonly done: Promise<void>;
}

/** Registers with the server and starts working; rejects if the server refuses to register it. */
export async function startRunner(
  config: RunnerConfig,
  options: StartRunnerOptions = {},
): Promise<RunnerHandle> {
  const log = options.log ?? logToStderr;
  const api = createRunnerApi(new HttpClient({ url: config.serverUrl, token: config.token }));
  // Task dirs left by an earlier runner with this work dir belong to tasks long requeued.
  await rm(join(config.workDir, "tasks"), { recursive: true, force: true });
  await mkdir(join(config.workDir, "tasks"), { recursive: true });
  const orphaned = (): boolean =>
    config.parentPid !== undefined && process.ppid !== config.parentPid;
  const detected = await detectHostSimulators();
  if (orphaned())
    throw new Error(`the server process ${config.parentPid} that started this runner is gone`);
  const host = { cpus: config.cpus ?? describeHost().cpus, ...detected };
  const registered = await registerMachine(api, config, config.machineId, {
    log,
    simulators: detected.simulators,
  });
  const machine: MachineIdentity = {
    id: registered.machineId,
    heartbeatMs: registered.heartbeatMs,
  };
  log(`machine ${machine.id} registered with ${config.serverUrl} (group ${config.machineGroup})`);

  const stopping = new AbortController();
  const loop = startClaimLoop({
    api,
    config,
    machine,
    task: {
      workDir: config.workDir,
      executor: options.executor ?? createProcessExecutor(),
      log,
      host,
    },
    signal: stopping.signal,
    log,
  });
  const stop = (): Promise<void> => {
    if (!stopping.signal.aborted) {
      log(`machine ${machine.id} stopping`);
      stopping.abort();
      loop.current()?.state.stop("the runner was stopped");
    }
    return done;
  };
  const control = runControlLoop({
    api,
    machineId: () => machine.id,
    signal: stopping.signal,
    handlers: createControlHandlers(loop, () => void stop()),
    log,
  });
  // The server that started this runner died: take no new task, finish the current one, exit.
  const watchdog = setInterval(() => {
    if (!orphaned()) return;
    clearInterval(watchdog);
    log(
      `the server process ${config.parentPid} that started this runner is gone; stopping after the current task`,
    );
    loop.drain();
    if (loop.current() === undefined) void stop();
  }, ORPHAN_CHECK_MS);
  watchdog.unref();
  // A loop that ends by itself (drained, refused) takes the control poll down with it.
  const done = loop.done
    .finally(() => {
      clearInterval(watchdog);
      stopping.abort();
    })
    .then(() => control);
  return { machineId: machine.id, stop, done };
}

function createControlHandlers(loop: ClaimLoop, stop: () => void): ControlHandlers {
  return {
    onKill(taskId, graceMs) {
      const run = loop.current();
      if (run?.state.task.id === taskId) run.state.kill("killed by user", graceMs);
    },
    onStop: stop,
    introspect(taskId, command, args) {
      const run = loop.current();
      if (run?.state.task.id !== taskId) {
        return Promise.reject(
          new FlotillaError(
            "TASK_NOT_RUNNING",
            `task ${taskId} is not running on this machine (any more)`,
          ),
        );
      }
      const { dirs } = run.state;
      const target = {
        taskId,
        workingDir: dirs.workingDir,
        stdoutLogPath: dirs.stdoutPath,
        currentPgid: () => run.state.currentPgid(),
      };
      return introspectTask(target, command, args);
    },
  };
}

/** How often a runner started by a server checks that the server process still exists. */
const ORPHAN_CHECK_MS = 1_000;

function logToStderr(line: string): void {
  process.stderr.write(`${new Date().toISOString()} runner: ${line}\n`);
}
