// `flotilla projects list`: the projects of your tasks, with their task counts.
import type { Command } from "commander";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { printJson } from "../../output/json.js";
import { renderTable } from "../../output/table.js";

export function registerProjectsList(projects: Command, io: CliIo): void {
  const command = projects
    .command("list")
    .alias("ls")
    .description("list projects and how many tasks each has")
    .option("--json", "print the projects as JSON")
    .action(async (options: { json?: boolean }) => {
      const list = (await (await io.connect()).listProjects()).projects;
      if (options.json === true) return printJson(io, list);
      if (list.length === 0) {
        io.err("No projects yet: a task's project is `default` unless `--project` names one.\n");
        return;
      }
      io.out(
        renderTable(
          list,
          [
            { header: "name", cell: (p) => p.name },
            { header: "tasks", cell: (p) => String(p.taskCount), align: "right" },
          ],
          { tty: io.isTty, style: io.style },
        ),
      );
    });
  withExamples(command, ["flotilla projects list", "flotilla projects list --json"]);
}
