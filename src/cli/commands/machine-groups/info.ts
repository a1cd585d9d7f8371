// `flotilla machine-groups info <name>`: the group and each of its machines.
import type { Command } from "commander";
import type { MachineGroupView, MachineView } from "../../../sdk/index.js";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { formatBytes } from "../../output/bytes.js";
import { formatTime } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderFields, renderTable, type Column } from "../../output/table.js";

export function registerMachineGroupsInfo(groups: Command, io: CliIo): void {
  const command = groups
    .command("info")
    .description("show a machine group and its machines")
    .argument("<name>", "group name")
    .option("--json", "print the group record as JSON")
    .action(async (name: string, options: { json?: boolean }) => {
      const group = await (await io.connect()).getMachineGroup(name);
      if (options.json === true) return printJson(io, group);
      io.out(renderGroup(group, io));
    });
  withExamples(command, [
    "flotilla machine-groups info sweep",
    "flotilla resources info default --json",
  ]);
}

/** "2 up of 4, 2 starting (pilot jobs waiting in the Slurm queue)". */
function describeMachines(group: MachineGroupView): string {
  const up = `${group.machines.filter(isUp).length} up of ${group.numMachines}`;
  if (group.startingMachines === 0) return up;
  const why = group.provider === "slurm" ? " (pilot jobs not running yet: see squeue)" : "";
  return `${up}, ${group.startingMachines} starting${why}`;
}

/** The group's fields, then its machines as a table. */
export function renderGroup(group: MachineGroupView, io: CliIo): string {
  const options = Object.entries(group.options).map(([key, value]) => `${key}=${String(value)}`);
  const fields = renderFields(
    [
      ["status", group.status],
      ["provider", group.provider],
      ["machines", describeMachines(group)],
      [
        "elastic",
        group.maxMachines === undefined
          ? undefined
          : `${group.minMachines ?? 0} to ${group.maxMachines} machines, idle release after ${group.maxIdleMs ?? "?"} ms`,
      ],
      ["queued tasks", String(group.queued)],
      ["created", formatTime(group.createdAt, io.isTty)],
      [
        "terminated",
        group.terminatedAt === undefined ? undefined : formatTime(group.terminatedAt, io.isTty),
      ],
      ["options", options.length === 0 ? undefined : options.join(", ")],
      ["cost per hour", group.costPerHour === undefined ? undefined : String(group.costPerHour)],
    ],
    io.style,
  );
  const machines = renderTable(group.machines, machineColumns(), {
    tty: io.isTty,
    style: io.style,
  });
  return `${io.style.bold(`Machine group ${group.name}`)}\n${fields}\n${machines}`;
}

function isUp(machine: MachineView): boolean {
  return machine.status !== "stopped" && machine.status !== "lost";
}

function machineColumns(): Column<MachineView>[] {
  const optional = (value: string | undefined): string => value ?? "-";
  return [
    { header: "machine", cell: (m) => m.id },
    { header: "host", cell: (m) => m.host },
    { header: "status", cell: (m) => m.status },
    { header: "task", cell: (m) => optional(m.taskId), field: (m) => m.taskId ?? "" },
    { header: "job", cell: (m) => optional(m.providerRef), field: (m) => m.providerRef ?? "" },
    { header: "cpus", cell: (m) => optional(m.cpus?.toString()), align: "right" },
    {
      header: "memory",
      cell: (m) => (m.memoryBytes === undefined ? "-" : formatBytes(m.memoryBytes)),
      field: (m) => m.memoryBytes?.toString() ?? "",
      align: "right",
    },
    {
      header: "last seen",
      cell: (m) => formatTime(m.lastSeenAt, true),
      field: (m) => formatTime(m.lastSeenAt, false),
    },
  ];
}
