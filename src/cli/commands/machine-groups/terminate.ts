// `flotilla machine-groups terminate <name>`: kills the group's running and queued tasks and stops
// its machines. Asks first on a terminal unless -y (declining exits 2).
import type { Command } from "commander";
import { withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import type { CliIo } from "../../io.js";
import { printJson } from "../../output/json.js";

export function registerMachineGroupsTerminate(groups: Command, io: CliIo): void {
  const command = groups
    .command("terminate")
    .description("terminate a machine group: kill its tasks and stop its machines")
    .argument("<name>", "group name")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print the group record as JSON")
    .action(async (name: string, options: { yes?: boolean; json?: boolean }) => {
      const client = await io.connect();
      if (options.yes !== true && io.canPrompt) {
        const group = await client.getMachineGroup(name);
        const busy = group.machines.filter((m) => m.taskId !== undefined).length;
        const question = `Terminate machine group ${name} (${busy} running and ${group.queued} queued task(s) will be killed)?`;
        if (!(await io.confirm(question)))
          throw new CliExit(EXIT.cancelled, "Cancelled; the group keeps running.");
      }
      const group = await client.terminateMachineGroup(name);
      if (options.json === true) return printJson(io, group);
      io.out(`machine group ${group.name} ${group.status}\n`);
    });
  withExamples(command, [
    "flotilla machine-groups terminate sweep",
    "flotilla resources terminate sweep -y",
  ]);
}
