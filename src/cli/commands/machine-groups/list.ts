// `flotilla machine-groups list`: every group with its machines and queue.
import type { Command } from "commander";
import type { MachineGroupView } from "../../../sdk/index.js";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { formatTime } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderTable, type Column } from "../../output/table.js";

export function registerMachineGroupsList(groups: Command, io: CliIo): void {
  const command = groups
    .command("list")
    .alias("ls")
    .description("list machine groups")
    .option("-a, --all", "include terminated groups")
    .option("--json", "print the group records as JSON")
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const { machineGroups } = await (await io.connect()).listMachineGroups();
      const shown = machineGroups.filter(
        (group) => options.all === true || group.status !== "terminated",
      );
      if (options.json === true) return printJson(io, shown);
      if (shown.length === 0) {
        io.err("No machine groups found; start one with `flotilla machine-groups start`.\n");
        return;
      }
      io.out(renderTable(shown, groupColumns(), { tty: io.isTty, style: io.style }));
    });
  withExamples(command, ["flotilla machine-groups list", "flotilla resources list --all --json"]);
}

function groupColumns(): Column<MachineGroupView>[] {
  const up = (group: MachineGroupView): number =>
    group.machines.filter((m) => m.status !== "stopped" && m.status !== "lost").length;
  return [
    { header: "name", cell: (g) => g.name },
    { header: "provider", cell: (g) => g.provider },
    { header: "status", cell: (g) => g.status },
    { header: "machines", cell: (g) => `${up(g)}/${g.numMachines}`, align: "right" },
    {
      header: "busy",
      cell: (g) => String(g.machines.filter((m) => m.taskId !== undefined).length),
      align: "right",
    },
    { header: "queued", cell: (g) => String(g.queued), align: "right" },
    {
      header: "created",
      cell: (g) => formatTime(g.createdAt, true),
      field: (g) => formatTime(g.createdAt, false),
    },
  ];
}
