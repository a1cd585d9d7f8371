// Runs one command of a task as the leader of its own process group, so that a kill reaches
// everything the simulator started (MPI ranks, helper scripts), not just the first process.
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { isProcessGroupAlive } from "./process-table.js";

/** How a command ended: `exitCode` when it exited, `signal` when a signal ended it. */
export interface ExitStatus {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/** What to run: an argv array (never a shell), in `cwd`, with extra environment `env`. */
export interface CommandSpec {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

/** A started command. Its pid is also its process group id. */
export interface RunningCommand {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` to the whole process group; false when the group is already gone. */
  signalGroup(signal: NodeJS.Signals): boolean;
  /** True while a live (non-zombie) process of the group is left. */
  isGroupAlive(): boolean;
}

/** Starts commands. The one substitution point of the runner for tests. */
export interface Executor {
  /** Resolves once the process runs; rejects with {@link CommandNotFoundError} on ENOENT. */
  start(spec: CommandSpec): Promise<RunningCommand>;
}

/** The program of a command does not exist (or is not executable). */
export class CommandNotFoundError extends Error {
  readonly program: string;
  constructor(program: string, options?: { cause?: unknown }) {
    super(`command not found: ${program}`, options);
    this.name = "CommandNotFoundError";
    this.program = program;
  }
}

export interface ProcessExecutorOptions {
  /** Environment the task's env is layered on (the runner's own environment by default). */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
}

/** The real executor: `child_process.spawn` with `detached: true` (a new process group). */
export function createProcessExecutor(options: ProcessExecutorOptions = {}): Executor {
  // The runner is started by a provider that already chose its environment; the task inherits it.
  const baseEnv = options.baseEnv ?? process.env;
  return {
    start: (spec) => startProcess(spec, baseEnv),
  };
}

function startProcess(
  spec: CommandSpec,
  baseEnv: Readonly<Record<string, string | undefined>>,
): Promise<RunningCommand> {
  const [program, ...args] = spec.argv;
  if (program === undefined) return Promise.reject(new Error("a command needs a program name"));
  const child = spawn(program, args, {
    cwd: spec.cwd,
    env: { ...baseEnv, ...spec.env },
    detached: true,
    shell: false,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }));
  });
  return new Promise<RunningCommand>((resolve, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      // EACCES means the file is there but not executable: the user sees it as "not found" too.
      if (error.code === "ENOENT" || error.code === "EACCES") {
        reject(new CommandNotFoundError(program, { cause: error }));
      } else reject(error);
    });
    child.once("spawn", () => {
      const pid = child.pid;
      if (pid === undefined) return;
      resolve({
        pid,
        stdout: child.stdout,
        stderr: child.stderr,
        exited,
        signalGroup: (signal) => signalProcessGroup(pid, signal),
        isGroupAlive: () => isProcessGroupAlive(pid),
      });
    });
  });
}

/** `kill(-pgid, signal)`; false when no process of the group is left. */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

export interface KillGroupOptions {
  readonly graceMs: number;
  /** How often to look whether the group is gone; there is no event for it. */
  readonly checkEveryMs?: number;
  /** Gives up waiting for the group to vanish after SIGKILL (a process stuck in the kernel). */
  readonly killTimeoutMs?: number;
}

/**
 * SIGTERM to the group, up to `graceMs` for it to leave, then SIGKILL. Resolves true once no
 * live process of the group is left, false if one survived `killTimeoutMs` after SIGKILL.
 */
export async function killCommandGroup(
  command: Pick<RunningCommand, "signalGroup" | "isGroupAlive">,
  options: KillGroupOptions,
): Promise<boolean> {
  const checkEveryMs = options.checkEveryMs ?? 20;
  if (!command.signalGroup("SIGTERM")) return true;
  if (await waitForGroupGone(command, options.graceMs, checkEveryMs)) return true;
  command.signalGroup("SIGKILL");
  return waitForGroupGone(command, options.killTimeoutMs ?? 10_000, checkEveryMs);
}

async function waitForGroupGone(
  command: Pick<RunningCommand, "isGroupAlive">,
  timeoutMs: number,
  checkEveryMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!command.isGroupAlive()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(checkEveryMs, left)));
  }
}
