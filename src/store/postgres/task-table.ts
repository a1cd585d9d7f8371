// The task operations of the PostgreSQL adapter. Writes run inside the caller's transaction and
// lock the task row (FOR UPDATE) before deciding anything from it.
import type pg from "pg";
import { InvalidInputError, LeaseLostError, taskNotFound } from "../../domain/errors.js";
import type { StatusHistoryEntry, Task } from "../../domain/task.js";
import { ACTIVE_STATUSES } from "../../domain/task-status.js";
import { toActiveTaskCounts } from "../row-mapping.js";
import type {
  ActiveTaskCounts,
  ClaimFilter,
  NewTask,
  TaskPatch,
  TransitionRequest,
} from "../task-store.js";
import { checkExpectations } from "../transition-check.js";
import { rows, type Queryable } from "./connection.js";
import { notify } from "./notifications.js";
import type { TaskRow } from "./rows.js";
import { readTask, readTasks } from "./task-hydrator.js";

type Client = pg.PoolClient;

const PATCH_COLUMNS: Record<Exclude<keyof TaskPatch, "machine" | "metrics">, string> = {
  simulatorVersion: "simulator_version",
  attempt: "attempt",
  exitCode: "exit_code",
  signal: "signal",
  reason: "reason",
  killRequestedAt: "kill_requested_at",
  leaseExpiresAt: "lease_expires_at",
  inputUploadedAt: "input_uploaded_at",
  startedAt: "started_at",
  endedAt: "ended_at",
};

export async function createTask(client: Client, task: NewTask): Promise<Task> {
  const inserted = await rows(
    client,
    `INSERT INTO tasks (id, owner, project, simulator, simulator_version, commands, machine_group,
       status, env, kill_grace_ms, created_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, 'pending-input', $8::jsonb, $9, $10)
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      task.id,
      task.owner,
      task.project,
      task.simulator,
      task.simulatorVersion ?? null,
      JSON.stringify(task.commands),
      task.machineGroup,
      JSON.stringify(task.env),
      task.killGraceMs,
      task.createdAt,
    ],
  );
  if (inserted.length === 0) {
    throw new InvalidInputError(`task ${task.id} already exists; create it with a new id`);
  }
  await appendHistory(client, task.id, {
    status: "pending-input",
    at: task.createdAt,
    reason: "task created",
  });
  await notify(client, "task", task.id);
  return readWritten(client, task.id);
}

export async function transitionTask(
  client: Client,
  id: string,
  request: TransitionRequest,
): Promise<Task> {
  const row = await lockRow(client, id);
  checkExpectations(row, request);
  const update = patchUpdate(request.patch ?? {});
  update.set.push(`status = ${update.param(request.to)}`);
  // COALESCE evaluates nextval only for a task entering the queue for the first time.
  if (request.to === "in-queue")
    update.set.push("queue_seq = COALESCE(queue_seq, nextval('task_queue_seq'))");
  await runUpdate(client, id, update);
  const { to: status, at, reason, detail, machineId } = request;
  await appendHistory(client, id, { status, at, reason, detail, machineId });
  await notify(client, "task", id);
  if (request.to === "in-queue") await notify(client, "queue", row.machine_group);
  return readWritten(client, id);
}

export async function patchTask(client: Client, id: string, patch: TaskPatch): Promise<Task> {
  await lockRow(client, id);
  await runUpdate(client, id, patchUpdate(patch));
  await notify(client, "task", id);
  return readWritten(client, id);
}

/**
 * Locks the first queued task no other transaction holds (with `filter`: the first this machine
 * may take), and leases it to the machine.
 */
export async function claimNextTask(
  client: Client,
  group: string,
  machine: { id: string; host: string },
  at: number,
  leaseExpiresAt: number,
  filter?: ClaimFilter,
): Promise<Task | undefined> {
  const [head] = await rows<{ id: string; simulator: string }>(
    client,
    `SELECT id, simulator FROM tasks WHERE machine_group = $1 AND status = 'in-queue'
     ORDER BY queue_seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [group],
  );
  if (head === undefined) return undefined;
  // Someone else's head (see ClaimFilter): the first of this machine's own behind it.
  const passOver =
    filter !== undefined &&
    !filter.simulators.includes(head.simulator) &&
    (await liveMachineHas(client, group, head.simulator));
  const first = passOver ? await firstQueuedOf(client, group, filter.simulators) : head;
  if (first === undefined) return undefined;
  const claimed = await transitionTask(client, first.id, {
    to: "submitted",
    at,
    reason: `claimed by machine ${machine.id}`,
    machineId: machine.id,
    patch: { machine: { id: machine.id, host: machine.host }, leaseExpiresAt },
  });
  await client.query(
    "UPDATE machines SET status = 'busy', task_id = $2, last_seen_at = $3 WHERE id = $1",
    [machine.id, claimed.id, at],
  );
  return claimed;
}

async function liveMachineHas(client: Client, group: string, simulator: string): Promise<boolean> {
  const found = await rows(
    client,
    `SELECT 1 FROM machines WHERE machine_group = $1 AND status NOT IN ('stopped', 'lost')
     AND simulators ? $2 LIMIT 1`,
    [group, simulator],
  );
  return found.length > 0;
}

// The earliest of the first queued tasks of each simulator, each on tasks_queue_by_simulator.
// The head this machine passed over stays locked until the claim commits: another machine's
// claim meanwhile takes the task after it, a moment's change of order, never a lost task.
async function firstQueuedOf(
  client: Client,
  group: string,
  simulators: readonly string[],
): Promise<{ id: string } | undefined> {
  let first: { id: string; queue_seq: number } | undefined;
  for (const simulator of simulators) {
    const [row] = await rows<{ id: string; queue_seq: number }>(
      client,
      `SELECT id, queue_seq FROM tasks WHERE machine_group = $1 AND simulator = $2
       AND status = 'in-queue' ORDER BY queue_seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [group, simulator],
    );
    if (
      row !== undefined &&
      (first === undefined || Number(row.queue_seq) < Number(first.queue_seq))
    )
      first = row;
  }
  return first;
}

// No NOTIFY: a renewal changes no status and nobody waits on it, and runners renew every few
// seconds per task.
export async function renewLease(
  client: Client,
  taskId: string,
  machineId: string,
  leaseExpiresAt: number,
): Promise<Task> {
  const row = await lockRow(client, taskId);
  const onMachine = row.status === "submitted" || row.status === "started";
  if (!onMachine || row.machine_id !== machineId) throw new LeaseLostError(taskId, machineId);
  await runUpdate(client, taskId, patchUpdate({ leaseExpiresAt }));
  return readWritten(client, taskId);
}

async function lockRow(client: Client, id: string): Promise<TaskRow> {
  const [row] = await rows<TaskRow>(client, "SELECT * FROM tasks WHERE id = $1 FOR UPDATE", [id]);
  if (row === undefined) throw taskNotFound(id);
  return row;
}

async function readWritten(client: Client, id: string): Promise<Task> {
  const task = await readTask(client, id);
  if (task === undefined) throw taskNotFound(id);
  return task;
}

// The task row is locked, so MAX(seq) + 1 cannot be taken by another writer.
async function appendHistory(client: Client, id: string, entry: StatusHistoryEntry): Promise<void> {
  await client.query(
    `INSERT INTO task_status_history (task_id, seq, status, at, reason, detail, machine_id)
     SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 FROM task_status_history WHERE task_id = $1`,
    [id, entry.status, entry.at, entry.reason, entry.detail ?? null, entry.machineId ?? null],
  );
}

interface Update {
  readonly set: string[];
  readonly values: unknown[];
  readonly param: (value: unknown) => string;
}

function patchUpdate(patch: TaskPatch): Update {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const set: string[] = [];
  for (const [key, column] of Object.entries(PATCH_COLUMNS)) {
    const value = patch[key as keyof typeof PATCH_COLUMNS];
    if (value !== undefined) set.push(`${column} = ${param(value)}`);
  }
  if (patch.machine !== undefined) {
    set.push(`machine_id = ${param(patch.machine?.id ?? null)}`);
    set.push(`machine_host = ${param(patch.machine?.host ?? null)}`);
  }
  if (patch.metrics !== undefined) {
    // An undefined key is "not given", as everywhere in a patch, not "clear"; || merges keys.
    const given = Object.entries(patch.metrics).filter(([, value]) => value !== undefined);
    set.push(`metrics = metrics || ${param(JSON.stringify(Object.fromEntries(given)))}::jsonb`);
  }
  return { set, values, param };
}

async function runUpdate(client: Client, id: string, update: Update): Promise<void> {
  if (update.set.length === 0) return;
  const where = update.param(id);
  await client.query(
    `UPDATE tasks SET ${update.set.join(", ")} WHERE id = ${where}`,
    update.values,
  );
}

// Reads: one statement each, on the pool.

export function listExpiredLeases(db: Queryable, now: number): Promise<Task[]> {
  return readTasks(
    db,
    `SELECT * FROM tasks WHERE status IN ('submitted', 'started') AND lease_expires_at < $1`,
    [now],
  );
}

export function listActiveTasks(db: Queryable, group: string): Promise<Task[]> {
  return readTasks(
    db,
    `SELECT * FROM tasks WHERE machine_group = $1
     AND status IN ('pending-input', 'in-queue', 'submitted', 'started')`,
    [group],
  );
}

export function listTasksOnMachine(
  db: Queryable,
  group: string,
  machineId: string,
): Promise<Task[]> {
  return readTasks(
    db,
    `SELECT * FROM tasks WHERE machine_group = $1 AND status IN ('submitted', 'started')
     AND machine_id = $2`,
    [group, machineId],
  );
}

export async function countQueued(db: Queryable, group: string): Promise<number> {
  const [row] = await rows<{ count: number }>(
    db,
    "SELECT COUNT(*) AS count FROM tasks WHERE machine_group = $1 AND status = 'in-queue'",
    [group],
  );
  return row?.count ?? 0;
}

// Per status, at most `upTo` entries (NULL: all) of tasks_queue (machine_group, status,
// queue_seq), index-only once the visibility map is set.
const COUNT_ACTIVE = ACTIVE_STATUSES.map(
  (status) =>
    `SELECT '${status}' AS status, COUNT(*) AS count FROM (SELECT 1 FROM tasks
     WHERE machine_group = $1 AND status = '${status}' LIMIT $2) AS ${status.replace("-", "_")}`,
).join(" UNION ALL ");

export async function countActiveTasks(
  db: Queryable,
  group: string,
  upTo?: number,
): Promise<ActiveTaskCounts> {
  return toActiveTaskCounts(
    await rows<{ status: string; count: number }>(db, COUNT_ACTIVE, [group, upTo ?? null]),
  );
}

export function listProjects(
  db: Queryable,
  owner: string | undefined,
): Promise<{ name: string; taskCount: number }[]> {
  const select = `SELECT project AS name, COUNT(*) AS "taskCount" FROM tasks`;
  return owner === undefined
    ? rows(db, `${select} GROUP BY project ORDER BY project`)
    : rows(db, `${select} WHERE owner = $1 GROUP BY project ORDER BY project`, [owner]);
}
