// `flotilla logs <id>`: the task's stdout (or stderr, or both) as it is written, until the task
// ends. Started before the task runs, it waits for it and shows its whole output in order; on a
// task that has ended it prints everything and exits. The server pushes each append at once.
import type { Command } from "commander";
import { withExamples } from "../command-helpers.js";
import { CliExit, EXIT } from "../exit.js";
import { followTaskLog } from "../follow.js";
import type { CliIo } from "../io.js";
import { describeEnd } from "./tasks/wait.js";

interface LogsOptions {
  stderr?: boolean;
  all?: boolean;
  follow: boolean;
}

export function registerLogs(program: Command, io: CliIo): void {
  const command = program
    .command("logs")
    .description("stream a task's output live until it ends (waits for it to start)")
    .argument("<id>", "task id")
    .option("--stderr", "the task's stderr instead of its stdout")
    .option("--all", "both: the task's stdout to stdout, its stderr to stderr")
    .option("--no-follow", "print what there is now and exit")
    .action(async (id: string, options: LogsOptions) => showLogs(io, id, options));
  withExamples(
    command,
    [
      "flotilla logs 0lx3k9v2a7b4c1d",
      "flotilla logs 0lx3k9v2a7b4c1d --stderr --no-follow | tail -5",
      "flotilla logs 0lx3k9v2a7b4c1d --all 2>errors.txt",
    ],
    "With --stderr the task's stderr goes to stdout, so it can be piped.",
  );
}

async function showLogs(io: CliIo, id: string, options: LogsOptions): Promise<void> {
  if (options.stderr === true && options.all === true) {
    throw new CliExit(EXIT.error, "give --stderr or --all, not both");
  }
  const client = await io.connect();
  await client.getTask(id); // a wrong id is one clear error, not one per stream
  const streams: ["stdout" | "stderr", (text: string) => void][] =
    options.all === true
      ? [
          ["stdout", io.out],
          ["stderr", io.err],
        ]
      : [[options.stderr === true ? "stderr" : "stdout", io.out]];
  await Promise.all(
    streams.map(([stream, write]) => followTaskLog(client, id, stream, options.follow, write)),
  );
  if (options.follow && io.stderrIsTty) {
    io.err(`${describeEnd(await client.getTask(id), io.errStyle)}\n`);
  }
}
