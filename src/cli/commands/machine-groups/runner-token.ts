// `flotilla machine-groups runner-token <name>`: a token for a runner started by hand on another
// host. The token goes to stdout alone (for `$(...)`); how to use it goes to stderr.
import type { Command } from "commander";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { printJson } from "../../output/json.js";

export function registerMachineGroupsRunnerToken(groups: Command, io: CliIo): void {
  const command = groups
    .command("runner-token")
    .description("make a token with which a runner started by hand joins the group")
    .argument("<name>", "group name")
    .option("--json", "print { machineGroup, token } as JSON")
    .action(async (name: string, options: { json?: boolean }) => {
      const client = await io.connect();
      const made = await client.createRunnerToken(name);
      if (options.json === true) return printJson(io, made);
      io.out(`${made.token}\n`);
      io.err(
        `On the other host (the token may only run tasks of ${name}; keep it out of argv):\n` +
          `  FLOTILLA_TOKEN=<token> flotilla runner start --server ${client.connection.url} --machine-group ${name}\n`,
      );
    });
  withExamples(command, [
    "flotilla machine-groups runner-token big",
    "ssh node7 FLOTILLA_TOKEN=$(flotilla machine-groups runner-token big) flotilla runner start --server http://head:7878 --machine-group big",
  ]);
}
