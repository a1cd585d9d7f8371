// `flotilla tasks info <id>`: the whole record: state, where it ran, its timeline with the
// duration of each phase, sizes, and the queue position while queued.
import type { Command } from "commander";
import type { StatusHistoryEntryView, TaskView } from "../../../sdk/index.js";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { formatBytes } from "../../output/bytes.js";
import { formatDuration, formatTime } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderFields } from "../../output/table.js";
import type { Style } from "../../output/style.js";

export function registerTasksInfo(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("info")
    .description("show a task: state, machine, timeline with phase durations, sizes")
    .argument("<id>", "task id")
    .option("--json", "print the task record as JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const task = await (await io.connect()).getTask(id);
      if (options.json === true) return printJson(io, task);
      io.out(renderTaskInfo(task, io.style, io.now(), io.isTty));
    });
  withExamples(command, [
    "flotilla tasks info 0lx3k9v2a7b4c1d",
    "flotilla tasks info 0lx3k9v2a7b4c1d --json | jq .metrics",
  ]);
}

/** The text of `tasks info`. */
export function renderTaskInfo(task: TaskView, style: Style, nowMs: number, tty: boolean): string {
  const sections = [
    `${style.bold(`Task ${task.id}`)}  ${style.status(task.status)}\n` +
      renderFields(summary(task), style),
    `${style.bold("Timeline")}\n${renderTimeline(task, style, nowMs, tty)}`,
    `${style.bold("Phases")}\n${renderFields(phases(task), style) || "  none ended yet\n"}`,
    `${style.bold("Data")}\n` + renderFields(data(task), style),
  ];
  return sections.join("\n");
}

function summary(task: TaskView): [string, string | undefined][] {
  const machine =
    task.machine === undefined ? undefined : `${task.machine.id} on ${task.machine.host}`;
  return [
    [
      "simulator",
      task.simulator + (task.simulatorVersion === undefined ? "" : ` ${task.simulatorVersion}`),
    ],
    ["project", task.project],
    ["machine group", task.machineGroup],
    [
      "queue position",
      task.queuePosition === undefined ? undefined : describePosition(task.queuePosition),
    ],
    ["machine", machine],
    ["attempt", task.attempt > 1 ? String(task.attempt) : undefined],
    ["exit code", task.exitCode === undefined ? undefined : String(task.exitCode)],
    ["signal", task.signal],
    ["reason", task.reason],
    [
      "kill requested",
      task.killRequestedAt === undefined ? undefined : formatTime(task.killRequestedAt, true),
    ],
    ["commands", task.commands.map(formatCommand).join("; ")],
  ];
}

function describePosition(position: number): string {
  return position === 0
    ? "next in its machine group"
    : `${position} task(s) ahead in its machine group`;
}

/** One line per status change: status, when, how long it lasted, why. */
function renderTimeline(task: TaskView, style: Style, nowMs: number, tty: boolean): string {
  const history = task.statusHistory;
  const rows = history.map((entry, index) => {
    const next = history[index + 1];
    const end = next === undefined ? (task.isTerminal ? undefined : nowMs) : Date.parse(next.at);
    const lasted = end === undefined ? "" : formatDuration(end - Date.parse(entry.at));
    const ongoing = next === undefined && end !== undefined ? " (ongoing)" : "";
    return { entry, lasted: lasted + ongoing };
  });
  const statusWidth = Math.max(...rows.map(({ entry }) => entry.status.length));
  const lastedWidth = Math.max(0, ...rows.map(({ lasted }) => lasted.length));
  return rows
    .map(({ entry, lasted }) => {
      const status = style.status(entry.status) + " ".repeat(statusWidth - entry.status.length);
      const why = describeEntry(entry);
      return (
        `  ${status}  ${formatTime(entry.at, tty)}  ${lasted.padEnd(lastedWidth)}  ${style.dim(why)}`.trimEnd() +
        "\n"
      );
    })
    .join("");
}

function describeEntry(entry: StatusHistoryEntryView): string {
  const parts = [entry.reason, entry.detail].filter((part) => part !== undefined && part !== "");
  const machine = entry.machineId;
  if (machine !== undefined && !parts.some((part) => part?.includes(machine) === true)) {
    parts.push(`machine ${machine}`);
  }
  return parts.join("; ");
}

function phases(task: TaskView): [string, string | undefined][] {
  const m = task.metrics;
  const show = (ms: number | undefined): string | undefined =>
    ms === undefined ? undefined : formatDuration(ms);
  return [
    ["input upload", show(m.inputUploadMs)],
    ["queue", show(m.queueMs)],
    ["input download", show(m.inputDownloadMs)],
    ["computation", show(m.computationMs)],
    ["output upload", show(m.outputUploadMs)],
    ["total", show(m.totalMs)],
  ];
}

function data(task: TaskView): [string, string | undefined][] {
  const m = task.metrics;
  const size = (bytes: number | undefined, files: number | undefined): string | undefined =>
    bytes === undefined
      ? undefined
      : `${formatBytes(bytes)}${files === undefined ? "" : ` in ${files} file(s)`}`;
  return [
    ["input", size(m.inputBytes, m.inputFiles) ?? "-"],
    ["output", size(m.outputBytes, m.outputFiles) ?? (task.isTerminal ? "none" : "not yet")],
  ];
}

/** An argv as a shell would need it typed. */
export function formatCommand(argv: readonly string[]): string {
  return argv
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}
