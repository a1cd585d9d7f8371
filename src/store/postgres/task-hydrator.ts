// Reads tasks whole, in one statement (so one snapshot): the rows a query selects, each with its
// history and, while in-queue, its place in its group's queue.
import type { Task } from "../../domain/task.js";
import { rows, type Queryable } from "./connection.js";
import { toTask, type HydratedTaskRow } from "./rows.js";

// Positions of the page's queued tasks: within each group, a covering count on tasks_queue of
// the queued tasks between one page task and the previous one, summed. Counting from the head
// for each task instead would make listing a long queue quadratic.
const HYDRATE = `
queued AS (
  SELECT id, machine_group, queue_seq,
    lag(queue_seq) OVER (PARTITION BY machine_group ORDER BY queue_seq) AS previous_seq
  FROM page WHERE status = 'in-queue'
),
positions AS (
  SELECT id,
    (SUM(gap + 1) OVER (PARTITION BY machine_group ORDER BY queue_seq) - 1)::bigint AS queue_position
  FROM (
    SELECT queued.*, (
      SELECT COUNT(*) FROM tasks q
      WHERE q.machine_group = queued.machine_group AND q.status = 'in-queue'
        AND q.queue_seq < queued.queue_seq AND q.queue_seq > COALESCE(queued.previous_seq, 0)
    ) AS gap
    FROM queued
  ) gaps
)
SELECT page.*, positions.queue_position, (
  SELECT json_agg(json_build_object('status', h.status, 'at', h.at, 'reason', h.reason,
    'detail', h.detail, 'machineId', h.machine_id) ORDER BY h.seq)
  FROM task_status_history h WHERE h.task_id = page.id
) AS history
FROM page LEFT JOIN positions ON positions.id = page.id`;

/** `selectRows` selects whole task rows; `orderBy` orders the result by columns of `page`. */
export function hydratedSql(selectRows: string, orderBy: string): string {
  return `WITH page AS (${selectRows}),${HYDRATE}\nORDER BY ${orderBy}`;
}

export async function readTasks(
  db: Queryable,
  selectRows: string,
  params: readonly unknown[],
  orderBy = "page.id",
): Promise<Task[]> {
  return (await rows<HydratedTaskRow>(db, hydratedSql(selectRows, orderBy), params)).map(toTask);
}

export async function readTask(db: Queryable, id: string): Promise<Task | undefined> {
  return (await readTasks(db, "SELECT * FROM tasks WHERE id = $1", [id]))[0];
}
