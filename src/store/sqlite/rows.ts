// Row shapes of the SQLite tables: JSON lives in *_json text columns, parsed here into the shared
// rows of ../row-mapping.ts, whose mapping to domain records both dialects use.
import type { Machine, MachineGroup } from "../../domain/machine-group.js";
import type { Command, StatusHistoryEntry, Task, TaskMetrics } from "../../domain/task.js";
import type { TaskStatus } from "../../domain/task-status.js";
import * as shared from "../row-mapping.js";

export { compact, toUser, type UserRow } from "../row-mapping.js";

type WithJson<Row, Parsed extends keyof Row, Json extends string> = Omit<Row, Parsed> & {
  [K in Json]: string;
};

export type TaskRow = WithJson<
  shared.TaskRow,
  "commands" | "env" | "metrics",
  "commands_json" | "env_json" | "metrics_json"
>;

export interface HistoryRow {
  task_id: string;
  seq: number;
  status: TaskStatus;
  at: number;
  reason: string;
  detail: string | null;
  machine_id: string | null;
}

export function toHistoryEntry(row: HistoryRow): StatusHistoryEntry {
  return shared.toHistoryEntry({ ...row, machineId: row.machine_id });
}

export function toTask(
  row: TaskRow,
  history: readonly StatusHistoryEntry[],
  queuePosition: number | undefined,
): Task {
  const { commands_json, env_json, metrics_json, ...rest } = row;
  return shared.toTask(
    {
      ...rest,
      commands: JSON.parse(commands_json) as Command[],
      env: JSON.parse(env_json) as Record<string, string>,
      metrics: JSON.parse(metrics_json) as TaskMetrics,
    },
    history,
    queuePosition,
  );
}

export type GroupRow = WithJson<shared.GroupRow, "options", "options_json">;

export function toGroup(row: GroupRow): MachineGroup {
  const { options_json, ...rest } = row;
  return shared.toGroup({ ...rest, options: JSON.parse(options_json) as Record<string, unknown> });
}

export type MachineRow = WithJson<shared.MachineRow, "simulators", "simulators_json">;

export function toMachine(row: MachineRow): Machine {
  const { simulators_json, ...rest } = row;
  return shared.toMachine({
    ...rest,
    simulators: JSON.parse(simulators_json) as Record<string, string>,
  });
}
