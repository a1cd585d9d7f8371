// Many tasks straight into a store's tables (SQL, in bulk), for the scenarios that need a big
// store without submitting through the API: listing at 1M tasks, memory at 100k queued.
// Rows look like real ones: sortable ids, a status mix, two history entries per task.
import Database from "better-sqlite3";
import type pg from "pg";

export interface BulkTask {
  readonly id: string;
  readonly status: "success" | "failed" | "killed" | "in-queue";
  readonly project: string;
  readonly createdAt: number;
  readonly queueSeq: number | null;
}

export interface BulkPlan {
  readonly owner: string;
  readonly machineGroup: string;
  readonly count: number;
  /** Every task queued (memory scenario) or a mix of mostly ended ones (listing). */
  readonly allQueued: boolean;
}

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Task i of a plan: ids sort by creation, one per millisecond, starting a year ago. */
export function bulkTask(plan: BulkPlan, index: number, baseMs: number): BulkTask {
  const createdAt = baseMs + index;
  let random = "";
  let seed = (index * 2654435761) >>> 0;
  for (let k = 0; k < 6; k += 1) {
    random += ALPHABET[seed % 36];
    seed = Math.floor(seed / 36) + k * 7919;
  }
  const id = createdAt.toString(36).padStart(9, "0") + random;
  const bucket = index % 100;
  const status = plan.allQueued
    ? "in-queue"
    : bucket < 80
      ? "success"
      : bucket < 90
        ? "failed"
        : bucket < 99
          ? "killed"
          : "in-queue";
  return {
    id,
    status,
    project: `project-${index % 10}`,
    createdAt,
    queueSeq: status === "in-queue" ? index + 1 : null,
  };
}

export function baseMsFor(count: number): number {
  return Date.now() - count - 60_000;
}

const COMMANDS = JSON.stringify([["./simulate", "--steps", "1000"]]);
const METRICS = JSON.stringify({ inputBytes: 2048, inputFiles: 3, computationMs: 1234 });

/** Inserts the plan's tasks into a migrated SQLite store file; returns their ids, oldest first. */
export function insertSqliteTasks(path: string, plan: BulkPlan): string[] {
  const db = new Database(path);
  db.pragma("busy_timeout = 5000");
  const baseMs = baseMsFor(plan.count);
  const ids: string[] = [];
  try {
    const insertTask = db.prepare(`INSERT INTO tasks (id, owner, project, simulator, commands_json,
      machine_group, status, env_json, kill_grace_ms, created_at, input_uploaded_at, started_at,
      ended_at, attempt, exit_code, reason, queue_seq, metrics_json)
      VALUES (?, ?, ?, 'custom', ?, ?, ?, '{}', 10000, ?, ?, ?, ?, 1, ?, ?, ?, ?)`);
    const insertHistory = db.prepare(
      "INSERT INTO task_status_history (task_id, seq, status, at, reason) VALUES (?, ?, ?, ?, ?)",
    );
    const insertBatch = db.transaction((from: number, to: number) => {
      for (let index = from; index < to; index += 1) {
        const task = bulkTask(plan, index, baseMs);
        const ended = task.status === "in-queue" ? null : task.createdAt + 2000;
        insertTask.run(
          task.id,
          plan.owner,
          task.project,
          COMMANDS,
          plan.machineGroup,
          task.status,
          task.createdAt,
          task.createdAt + 5,
          ended === null ? null : task.createdAt + 700,
          ended,
          task.status === "success" ? 0 : task.status === "failed" ? 2 : null,
          task.status === "failed" ? "exit code 2" : null,
          task.queueSeq,
          METRICS,
        );
        insertHistory.run(task.id, 0, "in-queue", task.createdAt + 5, "input uploaded");
        if (ended !== null) insertHistory.run(task.id, 1, task.status, ended, "bench fixture");
        ids.push(task.id);
      }
    });
    for (let from = 0; from < plan.count; from += 50_000) {
      insertBatch(from, Math.min(plan.count, from + 50_000));
    }
    // New tasks queue behind the inserted ones.
    db.prepare("UPDATE counters SET value = MAX(value, ?) WHERE name = 'queue_seq'").run(
      plan.count,
    );
  } finally {
    db.close();
  }
  return ids;
}

/** Inserts the plan's tasks into a migrated PostgreSQL store; returns their ids, oldest first. */
export async function insertPostgresTasks(
  client: pg.ClientBase,
  plan: BulkPlan,
): Promise<string[]> {
  const baseMs = baseMsFor(plan.count);
  const ids: string[] = [];
  for (let from = 0; from < plan.count; from += 50_000) {
    const batch: BulkTask[] = [];
    for (let index = from; index < Math.min(plan.count, from + 50_000); index += 1) {
      batch.push(bulkTask(plan, index, baseMs));
    }
    await client.query(
      `WITH batch AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
           AS b(id, status, project, created_at, queue_seq)
       ), tasks_in AS (
         INSERT INTO tasks (id, owner, project, simulator, commands, machine_group, status, env,
           kill_grace_ms, created_at, input_uploaded_at, started_at, ended_at, attempt, exit_code,
           reason, queue_seq, metrics)
         SELECT id, $6, project, 'custom', $8::jsonb, $7, status, '{}'::jsonb, 10000, created_at,
           created_at + 5,
           CASE WHEN status = 'in-queue' THEN NULL ELSE created_at + 700 END,
           CASE WHEN status = 'in-queue' THEN NULL ELSE created_at + 2000 END,
           1,
           CASE status WHEN 'success' THEN 0 WHEN 'failed' THEN 2 END,
           CASE WHEN status = 'failed' THEN 'exit code 2' END,
           queue_seq, $9::jsonb
         FROM batch
       )
       INSERT INTO task_status_history (task_id, seq, status, at, reason)
       SELECT id, 0, 'in-queue', created_at + 5, 'input uploaded' FROM batch
       UNION ALL
       SELECT id, 1, status, created_at + 2000, 'bench fixture' FROM batch WHERE status <> 'in-queue'`,
      [
        batch.map((t) => t.id),
        batch.map((t) => t.status),
        batch.map((t) => t.project),
        batch.map((t) => t.createdAt),
        batch.map((t) => t.queueSeq),
        plan.owner,
        plan.machineGroup,
        COMMANDS,
        METRICS,
      ],
    );
    for (const task of batch) ids.push(task.id);
  }
  await client.query(`SELECT setval('task_queue_seq', $1)`, [plan.count]);
  // VACUUM too, as autovacuum would soon after such an insert: until the visibility map is set,
  // the queue-position count of a listed queued task (an index-only scan over every queued task
  // ahead of it, 10,000 here) fetches each row from the heap: the newest page took 16 ms at p50
  // right after the insert and 4.8 ms after VACUUM (2026-12-02, 1M tasks).
  await client.query("VACUUM ANALYZE tasks");
  await client.query("VACUUM ANALYZE task_status_history");
  return ids;
}
