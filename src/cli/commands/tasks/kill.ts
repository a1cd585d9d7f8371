// `flotilla tasks kill <id...>`: asks first on a terminal (unless -y; declining exits 2), then
// says for each task the state it is in: killed at once (it was queued), kill requested (its
// machine stops it), or with --wait the final state once the machine confirmed.
import type { Command } from "commander";
import {
  isFlotillaError,
  type Flotilla,
  type KillView,
  type TaskView,
} from "../../../sdk/index.js";
import { secondsAsMs, withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import type { CliIo } from "../../io.js";
import { formatDuration } from "../../output/durations.js";

interface KillOptions {
  yes?: boolean;
  wait?: boolean;
  timeout?: number;
}

const DEFAULT_WAIT_MS = 120_000;

export function registerTasksKill(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("kill")
    .description("kill tasks in any state that has not ended")
    .argument("<id...>", "task ids")
    .option("-y, --yes", "do not ask for confirmation")
    .option("-w, --wait", "wait until each task's machine confirms it is killed")
    .option(
      "-t, --timeout <seconds>",
      "with --wait: give up after this long (default 120)",
      secondsAsMs,
    )
    .action(async (ids: string[], options: KillOptions) =>
      killTasks(io, [...new Set(ids)], options),
    );
  withExamples(
    command,
    [
      "flotilla tasks kill 0lx3k9v2a7b4c1d",
      "flotilla tasks kill -y --wait 0lx3k9v2a7b4c1d 0lx3k9v2a7b4c1e",
    ],
    "A queued task is killed at once. A running one is killed by its machine: SIGTERM to its\n" +
      "processes, SIGKILL after the task's grace period; its partial outputs are kept.\n" +
      "Exit code: 0 when every task is killed (or asked to be), 1 if any could not be,\n" +
      "2 when the prompt was declined, 8 when --wait timed out.",
  );
}

async function killTasks(io: CliIo, ids: string[], options: KillOptions): Promise<void> {
  if (options.yes !== true && io.canPrompt) {
    const which = ids.length <= 5 ? ids.join(", ") : `${ids.length} tasks`;
    if (!(await io.confirm(`Kill ${which}?`))) {
      throw new CliExit(EXIT.cancelled, "Cancelled; nothing was killed.");
    }
  }
  const client = await io.connect();
  let failed = 0;
  let pending = 0;
  for (const id of ids) {
    try {
      const outcome = await killOne(io, client, id, options);
      if (outcome === "pending") pending += 1;
    } catch (error) {
      if (!isFlotillaError(error)) throw error;
      failed += 1;
      io.err(`${io.errStyle.red("error:")} ${error.message}\n`);
    }
  }
  if (failed > 0) throw new CliExit(EXIT.error);
  if (pending > 0) throw new CliExit(EXIT.pending);
}

async function killOne(
  io: CliIo,
  client: Flotilla,
  id: string,
  options: KillOptions,
): Promise<"done" | "pending"> {
  const killed = await client.killTask(id);
  if (killed.result === "killed") {
    io.out(`task ${id} ${io.style.status("killed")}${wasLine(killed.task)}\n`);
    return "done";
  }
  if (options.wait !== true) {
    io.out(`${describeRequested(killed, io)}\n`);
    return "done";
  }
  const timeoutMs = options.timeout ?? DEFAULT_WAIT_MS;
  const final = await waitUntilEnded(client, id, timeoutMs);
  if (!final.isTerminal) {
    io.out(
      `task ${id} is still ${io.style.status(final.status)} after ${formatDuration(timeoutMs)}; its machine has been told to kill it\n`,
    );
    return "pending";
  }
  const note =
    final.status === "killed"
      ? ` (it was ${killed.task.status})`
      : " (it ended before the kill took effect)";
  io.out(`task ${id} ${io.style.status(final.status)}${note}\n`);
  return "done";
}

function wasLine(task: TaskView): string {
  const before = task.statusHistory.at(-2)?.status;
  return before === undefined ? "" : ` (it was ${before})`;
}

function describeRequested(killed: KillView, io: CliIo): string {
  const { task } = killed;
  const where = task.machine === undefined ? "its machine" : `machine ${task.machine.id}`;
  return (
    `task ${task.id} is ${io.style.status(task.status)}; kill requested: ${where} stops it ` +
    `(SIGTERM, SIGKILL after ${formatDuration(task.killGraceMs)}); ` +
    `\`flotilla tasks wait ${task.id}\` waits for the end`
  );
}

async function waitUntilEnded(client: Flotilla, id: string, timeoutMs: number): Promise<TaskView> {
  const deadline = Date.now() + timeoutMs;
  let view = await client.getTask(id);
  while (!view.isTerminal && Date.now() < deadline) {
    view = await client.waitTask(id, Math.min(60_000, deadline - Date.now()));
  }
  return view;
}
