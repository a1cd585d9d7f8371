// `flotilla simulators list`: every simulator this client knows, and on which machine groups its
// machines found it (with versions). `custom` runs anywhere.
import type { Command } from "commander";
import { simulators } from "../../../sdk/index.js";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { printJson } from "../../output/json.js";
import { renderTable } from "../../output/table.js";

interface SimulatorRow {
  readonly name: string;
  readonly description: string;
  readonly machineGroups: Record<string, string[]>;
}

export function registerSimulatorsList(parent: Command, io: CliIo): void {
  const command = parent
    .command("list")
    .alias("ls")
    .description("list simulators and the machine groups that can run them")
    .option("--json", "print the list as JSON")
    .action(async (options: { json?: boolean }) => {
      const available = (await (await io.connect()).listSimulators()).simulators;
      const rows = mergeRows(available);
      if (options.json === true) return printJson(io, rows);
      io.out(
        renderTable(
          rows,
          [
            { header: "name", cell: (row) => row.name },
            {
              header: "available on",
              cell: (row) => describeGroups(row),
              field: (row) => describeGroups(row, ""),
            },
            { header: "description", cell: (row) => row.description },
          ],
          { tty: io.isTty, style: io.style },
        ),
      );
    });
  withExamples(command, ["flotilla simulators list", "flotilla simulators list --json"]);
}

function mergeRows(
  available: readonly { name: string; machineGroups: Record<string, string[]> }[],
): SimulatorRow[] {
  const byName = new Map(available.map((entry) => [entry.name, entry.machineGroups]));
  const known = simulators.list().map((simulator) => ({
    name: simulator.name,
    description: simulator.recipe.description,
    machineGroups: byName.get(simulator.name) ?? {},
  }));
  const unknown = available
    .filter((entry) => !known.some((row) => row.name === entry.name))
    .map((entry) => ({ name: entry.name, description: "", machineGroups: entry.machineGroups }));
  return [...known, ...unknown].sort((a, b) => a.name.localeCompare(b.name));
}

function describeGroups(row: SimulatorRow, none = "-"): string {
  if (row.name === "custom") return "every group";
  const groups = Object.entries(row.machineGroups).map(
    ([group, versions]) => `${group}${versions.length === 0 ? "" : ` (${versions.join(", ")})`}`,
  );
  return groups.length === 0 ? none : groups.join(", ");
}
