// `flotilla run <simulator> <input-dir> [-- command...]`: submit a task from the shell. Prints the
// task id on stdout and, on stderr, the commands to follow it. With --wait it streams the task's
// output instead (stdout to stdout, stderr to stderr) and exits 0 on success, 1 otherwise.
import type { Command } from "commander";
import { simulators, type Flotilla, type Task } from "../../sdk/index.js";
import { withExamples } from "../command-helpers.js";
import { CliExit, EXIT } from "../exit.js";
import { followTaskLog } from "../follow.js";
import type { CliIo } from "../io.js";
import { describeEnd } from "./tasks/wait.js";

interface RunOptions {
  on?: string;
  project?: string;
  env?: string[];
  mainFile?: string;
  option?: Record<string, unknown>;
  containerImage?: string;
  wait?: boolean;
}

export function registerRun(program: Command, io: CliIo): void {
  const command = program
    .command("run")
    .description("submit a task: run a simulator on an input directory")
    .argument("<simulator>", "simulator name: custom, or a recipe (`flotilla simulators list`)")
    .argument("<input-dir>", "the directory with the simulation's files")
    .argument("[command...]", "after --: the command to run (argv, no shell)")
    .option("--on <group>", "machine group to run on (default: default)")
    .option("-p, --project <project>", "project label (default: default)")
    .option(
      "-e, --env <KEY=VALUE>",
      "environment variable for the commands (repeatable)",
      collectEnv,
    )
    .option("--main-file <file>", "the main input file, for recipes that need one")
    .option(
      "-o, --option <KEY=VALUE>",
      "recipe option, VALUE as JSON or text: np=4, vars='{\"T\":1.5}' (repeatable)",
      collectOption,
    )
    .option("--container-image <image>", "run the commands in this image with podman")
    .option("-w, --wait", "stream the task's output until it ends; exit 1 unless it succeeds")
    .action(async (simulator: string, inputDir: string, argv: string[], options: RunOptions) =>
      runTask(io, simulator, inputDir, argv, options),
    );
  withExamples(command, [
    "flotilla run custom ./case -- python3 simulate.py --steps 1000",
    "flotilla run custom ./case --on big --project sweep -- sh -c './mesh && ./solve'",
    "flotilla run gromacs ./protein --wait",
    "flotilla run lammps ./lj --option np=2 --option 'vars={\"T\":1.5}'",
    "ID=$(flotilla run custom ./case -- make run) && flotilla tasks wait $ID --exit-status",
  ]);
}

function collectOption(
  value: string,
  previous: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const equals = value.indexOf("=");
  if (equals < 1) throw new CliExit(EXIT.error, `--option ${value}: write it as KEY=VALUE`);
  const text = value.slice(equals + 1);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the text itself
  }
  return { ...previous, [value.slice(0, equals)]: parsed };
}

function collectEnv(value: string, previous: string[] | undefined): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(value)) {
    throw new CliExit(EXIT.error, `--env ${value}: write it as KEY=VALUE`);
  }
  return [...(previous ?? []), value];
}

async function runTask(
  io: CliIo,
  simulatorName: string,
  inputDir: string,
  argv: string[],
  options: RunOptions,
): Promise<void> {
  const simulator = simulators.get(simulatorName);
  const client = await io.connect();
  const env = Object.fromEntries(
    (options.env ?? []).map((pair) => [
      pair.slice(0, pair.indexOf("=")),
      pair.slice(pair.indexOf("=") + 1),
    ]),
  );
  const task = await simulator.run(inputDir, {
    on: options.on,
    project: options.project,
    commands: argv.length === 0 ? undefined : [argv],
    env: options.env === undefined ? undefined : env,
    mainFile: options.mainFile,
    options: options.option,
    container: options.containerImage === undefined ? undefined : { image: options.containerImage },
    client,
  });
  if (options.wait === true) return waitStreaming(io, client, task);
  io.out(`${task.id}\n`);
  io.err(describeSubmitted(task, io));
}

function describeSubmitted(task: Task, io: CliIo): string {
  const { info } = task;
  const position = info.queuePosition;
  const queue =
    position === undefined
      ? ""
      : position === 0
        ? "; it is next in the queue"
        : `; ${position} task(s) ahead of it`;
  const dim = io.errStyle.dim;
  return (
    `Submitted task ${task.id} to machine group ${info.machineGroup} (project ${info.project})${queue}.\n` +
    `  ${dim("follow its output:")}  flotilla logs ${task.id}\n` +
    `  ${dim("see its state:    ")}  flotilla tasks info ${task.id}\n` +
    `  ${dim("wait for the end: ")}  flotilla tasks wait ${task.id} --exit-status\n` +
    `  ${dim("kill it:          ")}  flotilla tasks kill ${task.id}\n`
  );
}

async function waitStreaming(io: CliIo, client: Flotilla, task: Task): Promise<void> {
  io.err(
    `Submitted task ${task.id} to machine group ${task.machineGroup}; streaming its output.\n`,
  );
  await Promise.all([
    followTaskLog(client, task.id, "stdout", true, io.out),
    followTaskLog(client, task.id, "stderr", true, io.err),
  ]);
  const final = await task.wait();
  io.err(`${describeEnd(final, io.errStyle)}\n`);
  if (final.status !== "success") throw new CliExit(EXIT.error);
}
