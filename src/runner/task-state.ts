// The shared state of the one task a machine runs: which command runs now, and whether the task
// is being ended early (killed by a user or the runner stopping, or taken away by the server).
// The claim loop, heartbeat and control channel call kill/loseLease; run-task.ts reads `ending`.
import type { TaskView } from "../protocol/tasks.js";
import { killCommandGroup, type RunningCommand } from "./executor.js";

export type Ending =
  /** `keepOutputs`: a user's kill (what the commands wrote is uploaded); not when the runner stops. */
  | { readonly kind: "kill"; readonly reason: string; readonly keepOutputs: boolean }
  /** Another machine owns the task now: kill and drop it without finishing. */
  | { readonly kind: "lease-lost" };

export interface TaskDirs {
  /** `<workDir>/tasks/<taskId>-<attempt>` */
  readonly taskDir: string;
  /** `<taskDir>/work`: where the input is unpacked and the commands run. */
  readonly workingDir: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
}

export interface TaskState {
  readonly task: TaskView;
  readonly dirs: TaskDirs;
  /** Aborted as soon as the task is being ended early: cancels downloads and uploads. */
  readonly signal: AbortSignal;
  /** Aborted only when the lease is lost: for the upload of a killed task's outputs. */
  readonly leaseSignal: AbortSignal;
  ending(): Ending | undefined;
  /**
   * A user's kill: SIGTERM to the group, `graceMs` (the task's own by default), SIGKILL;
   * what the commands wrote is uploaded, outcome "killed".
   */
  kill(reason: string, graceMs?: number): void;
  /** The runner stops: the group is killed as for kill, the task handed back without outputs. */
  stop(reason: string): void;
  loseLease(): void;
  /** The command that runs now; killed at once if the task is already ending. */
  attach(command: RunningCommand): void;
  detach(): void;
  currentPgid(): number | undefined;
  /** Resolves once no process of the killed group is left (at once if nothing was killed). */
  groupGone(): Promise<void>;
}

export function createTaskState(
  task: TaskView,
  dirs: TaskDirs,
  log: (line: string) => void,
): TaskState {
  const abort = new AbortController();
  const leaseAbort = new AbortController();
  let ending: Ending | undefined;
  let graceMs = task.killGraceMs;
  let current: RunningCommand | undefined;
  let killing: Promise<void> | undefined;

  const killCurrent = (): void => {
    if (current === undefined || killing !== undefined) return;
    killing = killUntilGone(current, graceMs, (line) => log(`task ${task.id}: ${line}`));
  };

  const end = (next: Ending): void => {
    // A lost lease overrides a kill (nothing to report); a kill never overrides a lost lease.
    if (ending !== undefined && !(next.kind === "lease-lost" && ending.kind === "kill")) return;
    ending = next;
    abort.abort(new Error(next.kind === "kill" ? next.reason : "lease lost"));
    if (next.kind === "lease-lost") leaseAbort.abort(new Error("lease lost"));
    killCurrent();
  };

  return {
    task,
    dirs,
    signal: abort.signal,
    leaseSignal: leaseAbort.signal,
    ending: () => ending,
    kill(reason, requestedGraceMs) {
      if (ending === undefined && requestedGraceMs !== undefined) graceMs = requestedGraceMs;
      end({ kind: "kill", reason, keepOutputs: true });
    },
    stop: (reason) => end({ kind: "kill", reason, keepOutputs: false }),
    loseLease: () => end({ kind: "lease-lost" }),
    attach(command) {
      current = command;
      killing = undefined;
      if (ending !== undefined) killCurrent();
    },
    detach() {
      current = undefined;
    },
    currentPgid: () => current?.pid,
    groupGone: () => killing ?? Promise.resolve(),
  };
}

/** Kills until the group is really gone: a process in uninterruptible sleep may take a while. */
async function killUntilGone(
  command: RunningCommand,
  graceMs: number,
  log: (line: string) => void,
): Promise<void> {
  for (let round = 1; ; round += 1) {
    const gone = await killCommandGroup(command, { graceMs: round === 1 ? graceMs : 0 });
    if (gone) return;
    log(`process group ${command.pid} survived SIGKILL (round ${round}); trying again`);
  }
}
