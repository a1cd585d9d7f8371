// `flotilla tasks list-files <id>`: the task's working directory, live from its machine while it
// runs (files it created a moment ago included), its stored outputs once it has ended.
import type { Command } from "commander";
import type { TaskFileView } from "../../../protocol/task-files.js";
import { taskIdFrom, withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { formatBytes } from "../../output/bytes.js";
import { formatLocalTime } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderTable, type Column } from "../../output/table.js";

export function registerTasksListFiles(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("list-files")
    .description("list the files of a task: live while it runs, its outputs once it has ended")
    .argument("[id]", "task id")
    .option("--id <id>", "task id (same as the argument)")
    .option("--json", "print the entries as JSON")
    .action(async (positional: string | undefined, options: { id?: string; json?: boolean }) => {
      const id = taskIdFrom(positional, options.id);
      const { files } = await (await io.connect()).listTaskFiles(id);
      if (options.json === true) return printJson(io, files);
      if (files.length === 0) {
        io.err(`task ${id} has no files yet.\n`);
        return;
      }
      if (!io.isTty) return io.out(files.map(pipeLine).join(""));
      io.out(renderTable(files, fileColumns(), { tty: true, style: io.style }));
      const plain = files.filter((file) => !file.isDirectory);
      const bytes = plain.reduce((sum, file) => sum + file.size, 0);
      io.err(`${io.errStyle.dim(`${plain.length} file(s), ${formatBytes(bytes)}`)}\n`);
    });
  withExamples(
    command,
    [
      "flotilla tasks list-files 0lx3k9v2a7b4c1d",
      "flotilla tasks list-files --id 0lx3k9v2a7b4c1d | cut -f1",
    ],
    "In a pipe: path (directories end in /), size in bytes, modification time (ISO-8601).",
  );
}

function fileColumns(): Column<TaskFileView>[] {
  const path = (file: TaskFileView): string => (file.isDirectory ? `${file.path}/` : file.path);
  const modified = (file: TaskFileView): string =>
    file.mtimeMs === undefined ? "-" : formatLocalTime(new Date(file.mtimeMs));
  return [
    {
      header: "size",
      cell: (file) => (file.isDirectory ? "-" : formatBytes(file.size)),
      align: "right",
    },
    { header: "modified", cell: modified },
    { header: "path", cell: path },
  ];
}

/** In a pipe the path comes first, so `cut -f1` gives the paths. */
function pipeLine(file: TaskFileView): string {
  const mtime = file.mtimeMs === undefined ? "" : new Date(file.mtimeMs).toISOString();
  return `${file.isDirectory ? `${file.path}/` : file.path}\t${file.size}\t${mtime}\n`;
}
