// `flotilla tasks tail <id>`: the last lines of the task's stdout or of one of its files; with -f,
// then every line as it is written, until the task ends. Live from the task's machine while it
// runs (pushed by the server as the file grows), from the stored outputs once it has ended.
import type { Command } from "commander";
import { FOLLOW_OFFSET_HEADER, HEAD_BYTES_HEADER } from "../../../protocol/task-files.js";
import type { Flotilla } from "../../../sdk/index.js";
import { integerAtLeast, taskIdFrom, withExamples } from "../../command-helpers.js";
import { followText, type OpenedStream } from "../../follow.js";
import type { CliIo } from "../../io.js";
import { describeEnd } from "./wait.js";

interface TailOptions {
  id?: string;
  lines: number;
  follow?: boolean;
  file?: string;
}

export function registerTasksTail(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("tail")
    .description("show the last lines of a task's stdout or of one of its files; -f follows")
    .argument("[id]", "task id")
    .option("--id <id>", "task id (same as the argument)")
    .option("-L, --lines <n>", "how many lines", integerAtLeast(1), 10)
    .option("-f, --follow", "keep printing lines as they are written, until the task ends")
    .option("--file <path>", "a file of the task's working directory instead of stdout")
    .action(async (positional: string | undefined, options: TailOptions) =>
      tailTask(io, taskIdFrom(positional, options.id), options),
    );
  withExamples(command, [
    "flotilla tasks tail 0lx3k9v2a7b4c1d",
    "flotilla tasks tail --id 0lx3k9v2a7b4c1d -L 50",
    "flotilla tasks tail 0lx3k9v2a7b4c1d -f --file out/solver.log",
  ]);
}

async function tailTask(io: CliIo, id: string, options: TailOptions): Promise<void> {
  const client = await io.connect();
  if (options.follow !== true) {
    const { lines } = await client.tailTask(id, { path: options.file, lines: options.lines });
    io.out(lines.map((line) => `${line}\n`).join(""));
    return;
  }
  await followText({
    open: (offset) => openFollow(client, id, options, offset),
    write: io.out,
  });
  if (io.stderrIsTty) io.err(`${describeEnd(await client.getTask(id), io.errStyle)}\n`);
}

async function openFollow(
  client: Flotilla,
  id: string,
  options: TailOptions,
  offset: number | undefined,
): Promise<OpenedStream> {
  const response = await client.openTailFollow(id, {
    path: options.file,
    lines: options.lines,
    offset,
  });
  if (response.body === null) throw new Error(`the server sent no body for tail -f of task ${id}`);
  return {
    body: response.body,
    offset: Number(response.headers.get(FOLLOW_OFFSET_HEADER) ?? 0),
    headBytes: Number(response.headers.get(HEAD_BYTES_HEADER) ?? 0),
  };
}
