// The `flotilla` command: noun-verb commands, gh-style. Exit codes (exit.ts): 0 ok, 1 error,
// 2 cancelled, 4 auth, 8 pending. Results go to stdout, diagnostics to stderr as `error: ...`.
import { Command, CommanderError } from "commander";
import { isFlotillaError } from "../sdk/index.js";
import { withExamples } from "./command-helpers.js";
import { registerDbMigrate } from "./commands/db/migrate.js";
import { registerLogs } from "./commands/logs.js";
import { registerMachineGroupsInfo } from "./commands/machine-groups/info.js";
import { registerMachineGroupsList } from "./commands/machine-groups/list.js";
import { registerMachineGroupsRunnerToken } from "./commands/machine-groups/runner-token.js";
import { registerMachineGroupsStart } from "./commands/machine-groups/start.js";
import { registerMachineGroupsTerminate } from "./commands/machine-groups/terminate.js";
import { registerProjectsList } from "./commands/projects/list.js";
import { registerRun } from "./commands/run.js";
import { registerRunnerStart } from "./commands/runner/start.js";
import { registerServerStart } from "./commands/server/start.js";
import { registerServerStatus } from "./commands/server/status.js";
import { registerServerStop } from "./commands/server/stop.js";
import { registerSimulatorsList } from "./commands/simulators/list.js";
import { registerTasksDownload } from "./commands/tasks/download.js";
import { registerTasksInfo } from "./commands/tasks/info.js";
import { registerTasksKill } from "./commands/tasks/kill.js";
import { registerTasksLastModifiedFile } from "./commands/tasks/last-modified-file.js";
import { registerTasksListFiles } from "./commands/tasks/list-files.js";
import { registerTasksList } from "./commands/tasks/list.js";
import { registerTasksTail } from "./commands/tasks/tail.js";
import { registerTasksTop } from "./commands/tasks/top.js";
import { registerTasksWait } from "./commands/tasks/wait.js";
import { registerUsers } from "./commands/users.js";
import { CliExit, EXIT } from "./exit.js";
import { createProcessIo, type CliIo } from "./io.js";

export { EXIT };

function buildProgram(io: CliIo): Command {
  const program = new Command("flotilla")
    .description("run simulations as asynchronous tasks on machine groups")
    .showHelpAfterError("(add --help for usage and examples)")
    .exitOverride();
  withExamples(
    program,
    [
      "flotilla run custom ./case -- python3 simulate.py",
      "flotilla tasks list",
      "flotilla logs <id>",
      "flotilla tasks tail <id> -f --file out/solver.log",
    ],
    "Connects to $FLOTILLA_URL with $FLOTILLA_TOKEN, else ~/.config/flotilla/credentials.json,\n" +
      "else the local server in ~/.flotilla (started when needed).\n" +
      "Exit codes: 0 ok, 1 error, 2 cancelled, 4 not authorized, 8 still running.\n" +
      "Colors only on a terminal and never with NO_COLOR set.",
  );
  registerTasks(
    noun(program, "tasks", "list, inspect, follow, download and kill tasks", [
      "flotilla tasks list",
      "flotilla tasks info <id>",
      "flotilla tasks tail <id> -f",
    ]),
    io,
  );
  registerLogs(program, io);
  registerRun(program, io);
  registerMachineGroups(program, io);
  const projects = noun(program, "projects", "list projects", ["flotilla projects list"]);
  registerProjectsList(projects, io);
  const simulators = noun(program, "simulators", "list simulators", ["flotilla simulators list"]);
  registerSimulatorsList(simulators, io);
  registerServerAndRunner(program, io);
  registerUsers(program, io);
  const db = noun(program, "db", "manage the server's store", ["flotilla db migrate"]);
  registerDbMigrate(db, io);
  return program;
}

/** A noun command (`tasks`, `server`, ...) with its examples. */
function noun(program: Command, name: string, description: string, examples: string[]): Command {
  return withExamples(program.command(name).description(description), examples);
}

function registerTasks(tasks: Command, io: CliIo): void {
  registerTasksList(tasks, io);
  registerTasksInfo(tasks, io);
  registerTasksDownload(tasks, io);
  registerTasksKill(tasks, io);
  registerTasksWait(tasks, io);
  registerTasksListFiles(tasks, io);
  registerTasksTail(tasks, io);
  registerTasksTop(tasks, io);
  registerTasksLastModifiedFile(tasks, io);
}

function registerMachineGroups(program: Command, io: CliIo): void {
  const groups = noun(
    program,
    "machine-groups",
    "start, list, inspect and terminate machine groups",
    ["flotilla machine-groups start sweep -n 4", "flotilla resources list"],
  ).alias("resources");
  registerMachineGroupsStart(groups, io);
  registerMachineGroupsList(groups, io);
  registerMachineGroupsInfo(groups, io);
  registerMachineGroupsTerminate(groups, io);
  registerMachineGroupsRunnerToken(groups, io);
}

function registerServerAndRunner(program: Command, io: CliIo): void {
  const server = noun(program, "server", "run and inspect the flotilla server", [
    "flotilla server start",
    "flotilla server status",
    "flotilla server stop",
  ]);
  registerServerStart(server);
  registerServerStatus(server, io);
  registerServerStop(server, io);
  const runner = noun(program, "runner", "run a machine (runner) that executes tasks", [
    "flotilla runner start --server http://head:7878 --machine-group big",
  ]);
  registerRunnerStart(runner);
}

/** The exit code for an error, after printing it. */
function report(io: CliIo, error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.error;
  if (error instanceof CliExit) {
    if (error.message !== "") {
      io.err(
        error.code === EXIT.error
          ? `${io.errStyle.red("error:")} ${error.message}\n`
          : `${error.message}\n`,
      );
    }
    return error.code;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`${io.errStyle.red("error:")} ${message}\n`);
  const auth =
    isFlotillaError(error) && (error.code === "UNAUTHORIZED" || error.code === "FORBIDDEN");
  return auth ? EXIT.auth : EXIT.error;
}

async function main(argv: readonly string[]): Promise<void> {
  const io = createProcessIo();
  // `flotilla logs <id> | head`: a closed pipe ends the command quietly.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(EXIT.ok);
    throw error;
  });
  try {
    await buildProgram(io).parseAsync(argv);
  } catch (error) {
    const code = report(io, error);
    // Flush stdout before leaving (pipes may be asynchronous).
    process.stdout.write("", () => process.exit(code));
  }
}

await main(process.argv);
