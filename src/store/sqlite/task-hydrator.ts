// Turns task rows into domain tasks: adds each task's history and, while in-queue, its place.
import type Database from "better-sqlite3";
import type { Task } from "../../domain/task.js";
import { toHistoryEntry, toTask, type HistoryRow, type TaskRow } from "./rows.js";

export interface TaskHydrator {
  readonly hydrate: (row: TaskRow) => Task;
  readonly hydrateAll: (rows: readonly TaskRow[]) => Task[];
}

export function createTaskHydrator(db: Database.Database): TaskHydrator {
  const history = db.prepare("SELECT * FROM task_status_history WHERE task_id = ? ORDER BY seq");
  // A covering range count on tasks_queue (machine_group, status, queue_seq).
  const queuedBetween = db
    .prepare(
      `SELECT COUNT(*) FROM tasks
       WHERE machine_group = ? AND status = 'in-queue' AND queue_seq > ? AND queue_seq < ?`,
    )
    .pluck();

  // Positions of several queued tasks at once: one pass over the queue up to the last of them,
  // rather than one count from the head per task (a long queue listed would be quadratic).
  const queuePositions = (rows: readonly TaskRow[]): Map<string, number> => {
    const positions = new Map<string, number>();
    const byGroup = new Map<string, TaskRow[]>();
    for (const row of rows) {
      if (row.status !== "in-queue" || row.queue_seq === null) continue;
      byGroup.set(row.machine_group, [...(byGroup.get(row.machine_group) ?? []), row]);
    }
    for (const [group, queued] of byGroup) {
      queued.sort((a, b) => (a.queue_seq ?? 0) - (b.queue_seq ?? 0));
      let position = -1;
      let previousSeq = Number.MIN_SAFE_INTEGER;
      for (const row of queued) {
        position += 1 + (queuedBetween.get(group, previousSeq, row.queue_seq) as number);
        previousSeq = row.queue_seq ?? previousSeq;
        positions.set(row.id, position);
      }
    }
    return positions;
  };

  const hydrateAll = (rows: readonly TaskRow[]): Task[] => {
    const positions = queuePositions(rows);
    return rows.map((row) =>
      toTask(row, (history.all(row.id) as HistoryRow[]).map(toHistoryEntry), positions.get(row.id)),
    );
  };
  return {
    hydrate: (row) => hydrateAll([row])[0] as Task,
    hydrateAll,
  };
}
