// `flotilla tasks top <id>`: the processes of the running task, read on its machine. A task that
// is not running answers with its state (the server's error says which and what to do).
import type { Command } from "commander";
import type { TaskProcessView } from "../../../protocol/task-files.js";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { formatBytes } from "../../output/bytes.js";
import { formatClock } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderTable, type Column } from "../../output/table.js";

export function registerTasksTop(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("top")
    .description("show the processes of a running task, from its machine")
    .argument("<id>", "task id")
    .option("--json", "print the processes as JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const { processes } = await (await io.connect()).getTaskTop(id);
      if (options.json === true) return printJson(io, processes);
      if (processes.length === 0) {
        io.err(`task ${id} has no process running right now (between two commands).\n`);
        return;
      }
      io.out(renderTable(processes, processColumns(), { tty: io.isTty, style: io.style }));
    });
  withExamples(
    command,
    ["flotilla tasks top 0lx3k9v2a7b4c1d", "flotilla tasks top 0lx3k9v2a7b4c1d --json"],
    "Columns: pid, parent pid, state (R running, S sleeping, D disk, Z zombie), CPU time,\n" +
      "resident memory (bytes in a pipe), command line.",
  );
}

function processColumns(): Column<TaskProcessView>[] {
  return [
    { header: "pid", cell: (p) => String(p.pid), align: "right" },
    { header: "ppid", cell: (p) => String(p.ppid), align: "right" },
    { header: "s", cell: (p) => p.state },
    {
      header: "cpu time",
      cell: (p) => formatClock(p.cpuSeconds * 1000),
      field: (p) => p.cpuSeconds.toFixed(2),
      align: "right",
    },
    {
      header: "rss",
      cell: (p) => formatBytes(p.rssBytes),
      field: (p) => String(p.rssBytes),
      align: "right",
    },
    { header: "command", cell: (p) => p.command },
  ];
}
