// `flotilla machine-groups start [name]`: create a group and start its machines.
import type { Command } from "commander";
import type { CreateMachineGroupRequest } from "../../../sdk/index.js";
import { integerAtLeast, withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import type { CliIo } from "../../io.js";
import { printJson } from "../../output/json.js";
import { renderGroup } from "./info.js";

interface StartOptions {
  provider: string;
  numMachines?: number;
  minMachines?: number;
  maxMachines?: number;
  maxIdleMs?: number;
  partition?: string;
  cpusPerMachine?: number;
  memoryMb?: number;
  timeLimit?: string;
  account?: string;
  costPerHour?: string;
  json?: boolean;
}

export function registerMachineGroupsStart(groups: Command, io: CliIo): void {
  const command = groups
    .command("start")
    .description("create a machine group and start its machines")
    .argument("[name]", "group name (the server picks one when omitted)")
    .option(
      "--provider <provider>",
      "local (runner processes on the server's host) or slurm",
      "local",
    )
    .option(
      "-n, --num-machines <n>",
      "how many machines to start with (default 1, or --min-machines)",
      integerAtLeast(0),
    )
    .option("--min-machines <n>", "elastic: the fewest machines (default 0)", integerAtLeast(0))
    .option(
      "--max-machines <n>",
      "elastic: the most machines; the group grows while tasks wait",
      integerAtLeast(1),
    )
    .option(
      "--max-idle-ms <ms>",
      "elastic: release a machine idle this long (default 60000)",
      integerAtLeast(0),
    )
    .option("--partition <partition>", "slurm: partition")
    .option("--cpus-per-machine <n>", "slurm: CPUs per machine", integerAtLeast(1))
    .option("--memory-mb <mb>", "slurm: memory per machine in MiB", integerAtLeast(1))
    .option("--time-limit <limit>", "slurm: time limit of each pilot job, e.g. 02:00:00")
    .option("--account <account>", "slurm: account to charge")
    .option("--cost-per-hour <amount>", "cost of one machine per hour, to estimate task costs")
    .option("--json", "print the group record as JSON")
    .action(async (name: string | undefined, options: StartOptions) => {
      const group = await (await io.connect()).createMachineGroup(toRequest(name, options));
      if (options.json === true) return printJson(io, group);
      io.err(
        `Started machine group ${group.name}: ${group.numMachines} ${group.provider} machine(s).\n`,
      );
      io.out(renderGroup(group, io));
    });
  withExamples(command, [
    "flotilla machine-groups start sweep -n 4",
    "flotilla resources start big --provider slurm -n 8 --partition short --time-limit 02:00:00",
    "flotilla machine-groups start burst --provider slurm --max-machines 8 --max-idle-ms 120000",
  ]);
}

function toRequest(name: string | undefined, options: StartOptions): CreateMachineGroupRequest {
  if (options.provider !== "local" && options.provider !== "slurm") {
    throw new CliExit(EXIT.error, `--provider ${options.provider}: use local or slurm`);
  }
  const cost = options.costPerHour === undefined ? undefined : Number(options.costPerHour);
  if (cost !== undefined && !(cost >= 0)) {
    throw new CliExit(
      EXIT.error,
      `--cost-per-hour ${options.costPerHour}: give a number of at least 0`,
    );
  }
  const slurm = {
    partition: options.partition,
    cpusPerMachine: options.cpusPerMachine,
    memoryMb: options.memoryMb,
    timeLimit: options.timeLimit,
    account: options.account,
  };
  const given = Object.fromEntries(
    Object.entries(slurm).filter(([, value]) => value !== undefined),
  );
  return {
    ...(name === undefined ? {} : { name }),
    provider: options.provider,
    numMachines:
      options.numMachines ?? (options.maxMachines === undefined ? 1 : (options.minMachines ?? 0)),
    ...(options.minMachines === undefined ? {} : { minMachines: options.minMachines }),
    ...(options.maxMachines === undefined ? {} : { maxMachines: options.maxMachines }),
    ...(options.maxIdleMs === undefined ? {} : { maxIdleMs: options.maxIdleMs }),
    ...(Object.keys(given).length === 0 ? {} : { options: given }),
    ...(cost === undefined ? {} : { costPerHour: cost }),
  };
}
