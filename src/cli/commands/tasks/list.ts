// `flotilla tasks list`: the newest tasks, as a table on a terminal, tab-separated in a pipe.
// No tasks is not an error: "No tasks found." goes to stderr and the exit code is 0, so a script
// tells "none" from "failed" by the exit code and gets empty stdout (`[]` with --json).
import type { Command } from "commander";
import {
  TASK_STATUSES,
  isTerminalStatus,
  type Flotilla,
  type TaskStatus,
  type TaskView,
} from "../../../sdk/index.js";
import { collect, integerAtLeast, withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import type { CliIo } from "../../io.js";
import { formatClock, formatTime } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderTable, type Column } from "../../output/table.js";

interface ListOptions {
  lastN: number;
  all?: boolean;
  status?: string[];
  project?: string;
  machineGroup?: string;
  json?: boolean;
}

const PAGE = 500;

export function registerTasksList(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("list")
    .alias("ls")
    .description("list tasks, newest first")
    .option("-n, --last-n <n>", "how many of the newest tasks", integerAtLeast(1), 10)
    .option("-a, --all", "every task (ignores -n)")
    .option(
      "-s, --status <status>",
      `only these statuses (repeat or comma-separate): ${TASK_STATUSES.join(", ")}`,
      collect,
    )
    .option("-p, --project <project>", "only this project")
    .option("-g, --machine-group <group>", "only this machine group")
    .option("--json", "print the task records as JSON")
    .action(async (options: ListOptions) => listTasks(io, options));
  withExamples(
    command,
    [
      "flotilla tasks list",
      "flotilla tasks list -n 50 --status started,in-queue",
      "flotilla tasks list --all --project sweep --json",
      "flotilla tasks list --status failed | cut -f1",
    ],
    "On a terminal: a table with times in local time and live durations marked *.\n" +
      "In a pipe: one tab-separated line per task (id, simulator, status, machine group, project,\n" +
      "submitted, started, computation, total), ISO-8601 times, no header.\n" +
      'No matching task prints "No tasks found." on stderr and exits 0.',
  );
}

async function listTasks(io: CliIo, options: ListOptions): Promise<void> {
  const statuses = checkStatuses(options.status);
  const client = await io.connect();
  const { tasks, more } = await fetchTasks(client, options, statuses);
  if (options.json === true) return printJson(io, tasks);
  if (tasks.length === 0) {
    io.err("No tasks found.\n");
    return;
  }
  io.out(renderTable(tasks, taskColumns(io), { tty: io.isTty, style: io.style }));
  if (io.isTty && more) {
    io.err(
      `${io.errStyle.dim(`Showing the ${tasks.length} newest; use -n <n> or --all for more.`)}\n`,
    );
  }
}

async function fetchTasks(
  client: Flotilla,
  options: ListOptions,
  status: TaskStatus[] | undefined,
): Promise<{ tasks: TaskView[]; more: boolean }> {
  const wanted = options.all === true ? Number.POSITIVE_INFINITY : options.lastN;
  const tasks: TaskView[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTasks({
      status,
      project: options.project,
      machineGroup: options.machineGroup,
      limit: Math.min(PAGE, wanted - tasks.length),
      cursor,
    });
    tasks.push(...page.tasks);
    cursor = page.tasks.length === 0 ? undefined : page.nextCursor;
  } while (cursor !== undefined && tasks.length < wanted);
  return { tasks, more: cursor !== undefined };
}

function checkStatuses(given: string[] | undefined): TaskStatus[] | undefined {
  if (given === undefined) return undefined;
  for (const status of given) {
    if (!(TASK_STATUSES as readonly string[]).includes(status)) {
      const hint = status === "completed" ? ' (a task that ended well is "success")' : "";
      throw new CliExit(
        EXIT.error,
        `unknown status "${status}"${hint}; use one of: ${TASK_STATUSES.join(", ")}`,
      );
    }
  }
  return given as TaskStatus[];
}

/** Computation and total time: final when known, else live (marked * on a terminal). */
export function taskTimes(task: TaskView, nowMs: number): { computation?: Live; total?: Live } {
  const live = !isTerminalStatus(task.status);
  const computation =
    task.metrics.computationMs !== undefined
      ? { ms: task.metrics.computationMs, live: false }
      : task.status === "started" && task.startedAt !== undefined
        ? { ms: nowMs - Date.parse(task.startedAt), live: true }
        : undefined;
  const total =
    task.metrics.totalMs !== undefined && !live
      ? { ms: task.metrics.totalMs, live: false }
      : { ms: nowMs - Date.parse(task.createdAt), live };
  return { ...(computation === undefined ? {} : { computation }), total };
}

interface Live {
  readonly ms: number;
  readonly live: boolean;
}

function taskColumns(io: CliIo): Column<TaskView>[] {
  const now = io.now();
  const time = (live: Live | undefined, tty: boolean): string =>
    live === undefined ? (tty ? "-" : "") : `${live.live && tty ? "*" : ""}${formatClock(live.ms)}`;
  return [
    { header: "id", cell: (task) => task.id },
    { header: "simulator", cell: (task) => task.simulator },
    {
      header: "status",
      cell: (task) => io.style.status(task.status),
      field: (task) => task.status,
    },
    { header: "machine group", cell: (task) => task.machineGroup },
    { header: "project", cell: (task) => task.project },
    {
      header: "submitted",
      cell: (task) => formatTime(task.inputUploadedAt ?? task.createdAt, true),
      field: (task) => formatTime(task.inputUploadedAt ?? task.createdAt, false),
    },
    {
      header: "started",
      cell: (task) => formatTime(task.startedAt, true),
      field: (task) => formatTime(task.startedAt, false),
    },
    {
      header: "computation",
      cell: (task) => time(taskTimes(task, now).computation, true),
      field: (task) => time(taskTimes(task, now).computation, false),
      align: "right",
    },
    {
      header: "total",
      cell: (task) => time(taskTimes(task, now).total, true),
      field: (task) => time(taskTimes(task, now).total, false),
      align: "right",
    },
  ];
}
