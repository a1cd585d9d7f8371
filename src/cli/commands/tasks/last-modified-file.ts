// `flotilla tasks last-modified-file <id>`: the file the task wrote last, and how long ago; a
// quick "is it still making progress?" without opening a shell on the machine.
import type { Command } from "commander";
import type { LastModifiedFileView } from "../../../protocol/task-files.js";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { formatClock, formatLocalTime } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderFields } from "../../output/table.js";
import type { Style } from "../../output/style.js";

export function registerTasksLastModifiedFile(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("last-modified-file")
    .description("show the file a task modified last, and how long ago")
    .argument("<id>", "task id")
    .option("--json", "print the answer as JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const newest = await (await io.connect()).getLastModifiedFile(id);
      if (options.json === true) return printJson(io, newest);
      io.out(renderLastModified(newest, io.style));
    });
  withExamples(command, ["flotilla tasks last-modified-file 0lx3k9v2a7b4c1d"]);
}

export function renderLastModified(newest: LastModifiedFileView, style: Style): string {
  const modified = newest.mtimeMs;
  return renderFields(
    [
      ["most recent file", newest.path],
      ["modified", modified === undefined ? "-" : formatLocalTime(new Date(modified))],
      ["time on machine", formatLocalTime(new Date(newest.nowMs))],
      ["since then", modified === undefined ? "-" : formatClock(newest.nowMs - modified)],
    ],
    style,
    "",
  );
}
