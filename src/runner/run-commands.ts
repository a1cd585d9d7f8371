// The commands of a task, in order, each the leader of its own process group. A command ends
// when its leader exits; whatever it left running in its group is then killed, so that nothing
// of a task outlives it (or keeps writing into the next command's output).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { Readable } from "node:stream";
import {
  CommandNotFoundError,
  killCommandGroup,
  type Executor,
  type RunningCommand,
} from "./executor.js";
import { PROCESS_GROUP_FILE } from "./process-group-file.js";
import type { TaskLogs } from "./task-logs.js";
import type { TaskState } from "./task-state.js";

export type CommandsResult =
  | {
      readonly kind: "exited";
      /** The last command's exit code; undefined when a signal ended it. */
      readonly exitCode: number | undefined;
      readonly signal: string | undefined;
      readonly computationMs: number;
    }
  | {
      readonly kind: "error";
      readonly report: { readonly reason: string; readonly exitCode?: number };
      readonly computationMs: number;
    };

// How long the pipes may stay open after the group is gone: a process that left the group
// (setsid) may hold them forever, and the task must still end.
const PIPE_DRAIN_MS = 1_000;

/** Runs the task's commands, stopping at the first non-zero exit or when the task is ending. */
export async function runCommands(
  executor: Executor,
  state: TaskState,
  logs: TaskLogs,
): Promise<CommandsResult> {
  const firstStart = performance.now();
  let lastExit = firstStart;
  let exitCode: number | null = 0;
  let signal: string | null = null;
  for (const argv of state.task.commands) {
    if (state.ending() !== undefined) break;
    let command: RunningCommand;
    try {
      command = await executor.start({ argv, cwd: state.dirs.workingDir, env: state.task.env });
    } catch (error) {
      const computationMs = performance.now() - firstStart;
      if (error instanceof CommandNotFoundError) {
        return { kind: "error", report: { reason: error.message, exitCode: 127 }, computationMs };
      }
      const why = error instanceof Error ? error.message : String(error);
      return {
        kind: "error",
        report: { reason: `cannot start ${argv[0] ?? "?"}: ${why}` },
        computationMs,
      };
    }
    // If this runner dies, whoever supervises it (the local provider) kills this group from here.
    // Not awaited: the command's output must be read from its first byte.
    writeFile(join(state.dirs.taskDir, PROCESS_GROUP_FILE), `${command.pid}\n`).catch(
      () => undefined,
    );
    ({ exitCode, signal } = await runOne(
      command,
      state,
      logs,
      () => (lastExit = performance.now()),
    ));
    if (exitCode !== 0) break;
  }
  return {
    kind: "exited",
    exitCode: exitCode ?? undefined,
    signal: signal ?? undefined,
    computationMs: lastExit - firstStart,
  };
}

async function runOne(
  command: RunningCommand,
  state: TaskState,
  logs: TaskLogs,
  onExit: () => void,
): Promise<{ exitCode: number | null; signal: string | null }> {
  state.attach(command);
  const pipes = [pipeTo(command.stdout, "stdout", logs), pipeTo(command.stderr, "stderr", logs)];
  try {
    const status = await command.exited;
    onExit();
    if (state.ending() === undefined) {
      await killCommandGroup(command, { graceMs: state.task.killGraceMs });
    } else {
      await state.groupGone();
    }
    await drainOrCut([command.stdout, command.stderr], pipes);
    return status;
  } finally {
    state.detach();
  }
}

function pipeTo(stream: Readable, name: "stdout" | "stderr", logs: TaskLogs): Promise<void> {
  stream.on("data", (chunk: Buffer) => logs.write(name, chunk));
  return finished(stream).catch(() => undefined);
}

async function drainOrCut(streams: Readable[], pipes: Promise<void>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const stream of streams) stream.destroy();
      resolve();
    }, PIPE_DRAIN_MS);
  });
  await Promise.race([Promise.all(pipes), cut]);
  clearTimeout(timer);
}
