// `flotilla tasks wait <id>`: blocks until the task ends (server long polls, no client polling).
// Exit codes: 0 once it ended (with --exit-status: 0 only for success, 1 for failed or killed),
// 8 when it is still running at --timeout. Ctrl-C leaves the task running and says how to reach it.
import type { Command } from "commander";
import { Task, type TaskView } from "../../../sdk/index.js";
import { secondsAsMs, withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import type { CliIo } from "../../io.js";
import { formatDuration } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import type { Style } from "../../output/style.js";

interface WaitOptions {
  timeout?: number;
  exitStatus?: boolean;
  json?: boolean;
}

export function registerTasksWait(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("wait")
    .description("wait until a task ends")
    .argument("<id>", "task id")
    .option(
      "-t, --timeout <seconds>",
      "give up after this long (exit 8 if still running)",
      secondsAsMs,
    )
    .option("--exit-status", "exit 0 for success, 1 for failed or killed")
    .option("--json", "print the final task record as JSON")
    .action(async (id: string, options: WaitOptions) => waitForTask(io, id, options));
  withExamples(
    command,
    [
      "flotilla tasks wait 0lx3k9v2a7b4c1d",
      "flotilla tasks wait 0lx3k9v2a7b4c1d --timeout 600 --exit-status && flotilla tasks download 0lx3k9v2a7b4c1d",
    ],
    "Exit code: 0 when the task ended (any way, unless --exit-status), 1 with --exit-status when\n" +
      "it failed or was killed, 8 when it is still running at --timeout.",
  );
}

async function waitForTask(io: CliIo, id: string, options: WaitOptions): Promise<void> {
  const client = await io.connect();
  const task = new Task(await client.getTask(id), client);
  const onStatus = io.stderrIsTty
    ? (view: TaskView): void =>
        io.err(`${io.errStyle.dim(`task ${id}`)} ${io.errStyle.status(view.status)}\n`)
    : undefined;
  const final = await task.wait({ timeoutMs: options.timeout, onStatus });
  if (options.json === true) printJson(io, final);
  if (!final.isTerminal) {
    const waited = formatDuration(options.timeout ?? 0);
    throw new CliExit(EXIT.pending, `task ${id} is still ${final.status} after ${waited}`);
  }
  if (options.json !== true) io.out(`${describeEnd(final, io.style)}\n`);
  if (options.exitStatus === true && final.status !== "success") throw new CliExit(EXIT.error);
}

/** "task X success (exit code 0)", "task X failed (exit code 2: <reason>)". */
export function describeEnd(task: TaskView, style: Style): string {
  const facts: string[] = [];
  if (task.exitCode !== undefined) facts.push(`exit code ${task.exitCode}`);
  if (task.signal !== undefined) facts.push(`signal ${task.signal}`);
  if (task.status !== "success" && task.reason !== undefined)
    facts.push(task.reason.split("\n").at(-1) ?? "");
  const detail = facts.length === 0 ? "" : ` (${facts.join("; ")})`;
  return `task ${task.id} ${style.status(task.status)}${detail}`;
}
