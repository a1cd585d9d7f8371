// Row shapes of the PostgreSQL tables: JSONB and json arrive parsed, BIGINT as a number (see
// connection.ts), so the rows are the shared ones of ../row-mapping.ts plus what the hydrating
// query adds.
import {
  opt,
  toHistoryEntry,
  toTask as toTaskRecord,
  type HistoryFields,
  type TaskRow,
} from "../row-mapping.js";
import type { Task } from "../../domain/task.js";

export {
  compact,
  toGroup,
  toMachine,
  toUser,
  type GroupRow,
  type MachineRow,
  type TaskRow,
  type UserRow,
} from "../row-mapping.js";

/** A task row as the hydrating query returns it (task-hydrator.ts). */
export interface HydratedTaskRow extends TaskRow {
  history: HistoryFields[] | null;
  queue_position: number | null;
}

export function toTask(row: HydratedTaskRow): Task {
  return toTaskRecord(row, (row.history ?? []).map(toHistoryEntry), opt(row.queue_position));
}
