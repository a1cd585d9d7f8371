// The task operations of the SQLite adapter. Each runs inside the caller's transaction.
import type Database from "better-sqlite3";
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
import type { TaskRow } from "./rows.js";
import { createTaskHydrator } from "./task-hydrator.js";
import { createTaskLister } from "./task-list.js";

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

export type TaskTable = ReturnType<typeof createTaskTable>;

export function createTaskTable(db: Database.Database) {
  const s = {
    insert:
      db.prepare(`INSERT INTO tasks (id, owner, project, simulator, simulator_version, commands_json,
      machine_group, status, env_json, kill_grace_ms, created_at) VALUES (@id, @owner, @project, @simulator,
      @simulatorVersion, @commandsJson, @machineGroup, 'pending-input', @envJson, @killGraceMs, @createdAt)`),
    byId: db.prepare("SELECT * FROM tasks WHERE id = ?"),
    nextSeq: db
      .prepare("SELECT COALESCE(MAX(seq), 0) + 1 FROM task_status_history WHERE task_id = ?")
      .pluck(),
    addHistory:
      db.prepare(`INSERT INTO task_status_history (task_id, seq, status, at, reason, detail, machine_id)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    nextQueueSeq: db
      .prepare("UPDATE counters SET value = value + 1 WHERE name = 'queue_seq' RETURNING value")
      .pluck(),
    firstQueued: db.prepare(
      `SELECT * FROM tasks WHERE machine_group = ? AND status = 'in-queue' ORDER BY queue_seq LIMIT 1`,
    ),
    liveMachineHas: db.prepare(
      `SELECT 1 FROM machines WHERE machine_group = ? AND status NOT IN ('stopped', 'lost')
       AND EXISTS (SELECT 1 FROM json_each(simulators_json) WHERE key = ?) LIMIT 1`,
    ),
    firstQueuedOf: db.prepare(
      `SELECT * FROM tasks INDEXED BY tasks_queue_by_simulator WHERE machine_group = ?
       AND simulator = ? AND status = 'in-queue' ORDER BY queue_seq LIMIT 1`,
    ),
    expired: db.prepare(
      `SELECT * FROM tasks WHERE status IN ('submitted', 'started') AND lease_expires_at < ? ORDER BY id`,
    ),
    // The hint as for `active`.
    onMachine: db.prepare(
      `SELECT * FROM tasks INDEXED BY tasks_queue WHERE machine_group = ?
       AND status IN ('submitted', 'started') AND machine_id = ? ORDER BY id`,
    ),
    // Without the hint SQLite walks every task the group ever had, to avoid sorting the few
    // active ones.
    active: db.prepare(
      `SELECT * FROM tasks INDEXED BY tasks_queue WHERE machine_group = ?
       AND status IN ('pending-input', 'in-queue', 'submitted', 'started') ORDER BY id`,
    ),
    countQueued: db
      .prepare(`SELECT COUNT(*) FROM tasks WHERE machine_group = ? AND status = 'in-queue'`)
      .pluck(),
    // Per status, a covering range of tasks_queue (machine_group, status, queue_seq) of at
    // most @upTo entries (-1: all): no row is read.
    countActive: db.prepare(
      ACTIVE_STATUSES.map(
        (status) =>
          `SELECT '${status}' AS status, COUNT(*) AS count FROM (SELECT 1 FROM tasks
           INDEXED BY tasks_queue WHERE machine_group = @group AND status = '${status}'
           LIMIT @upTo)`,
      ).join(" UNION ALL "),
    ),
    projectsAll: db.prepare(
      "SELECT project AS name, COUNT(*) AS taskCount FROM tasks GROUP BY project ORDER BY project",
    ),
    projectsOf: db.prepare(
      "SELECT project AS name, COUNT(*) AS taskCount FROM tasks WHERE owner = ? GROUP BY project ORDER BY project",
    ),
  };
  const patchStatements = new Map<string, Database.Statement>();
  const { hydrate, hydrateAll } = createTaskHydrator(db);

  // The earliest of the first queued tasks of each simulator.
  const firstQueuedOf = (group: string, simulators: readonly string[]): TaskRow | undefined => {
    let first: TaskRow | undefined;
    for (const simulator of simulators) {
      const row = s.firstQueuedOf.get(group, simulator) as TaskRow | undefined;
      if (
        row !== undefined &&
        (first === undefined || (row.queue_seq ?? 0) < (first.queue_seq ?? 0))
      )
        first = row;
    }
    return first;
  };

  const readRow = (id: string): TaskRow => {
    const row = s.byId.get(id) as TaskRow | undefined;
    if (row === undefined) throw taskNotFound(id);
    return row;
  };
  const appendHistory = (id: string, entry: StatusHistoryEntry): void => {
    const seq = s.nextSeq.get(id) as number;
    const { status, at, reason, detail, machineId } = entry;
    s.addHistory.run(id, seq, status, at, reason, detail ?? null, machineId ?? null);
  };

  const applyPatch = (row: TaskRow, patch: TaskPatch, extra: Record<string, unknown> = {}) => {
    const values: Record<string, unknown> = { ...extra };
    for (const [key, column] of Object.entries(PATCH_COLUMNS)) {
      const value = patch[key as keyof typeof PATCH_COLUMNS];
      if (value !== undefined) values[column] = value;
    }
    if (patch.machine !== undefined) {
      values.machine_id = patch.machine?.id ?? null;
      values.machine_host = patch.machine?.host ?? null;
    }
    if (patch.metrics !== undefined) {
      // An undefined key is "not given", as everywhere in a patch, not "clear".
      const given = Object.entries(patch.metrics).filter(([, value]) => value !== undefined);
      const stored = JSON.parse(row.metrics_json) as object;
      values.metrics_json = JSON.stringify({ ...stored, ...Object.fromEntries(given) });
    }
    const columns = Object.keys(values).sort();
    if (columns.length === 0) return;
    const key = columns.join(",");
    let statement = patchStatements.get(key);
    if (statement === undefined) {
      const assignments = columns.map((column) => `${column} = @${column}`).join(", ");
      statement = db.prepare(`UPDATE tasks SET ${assignments} WHERE id = @id`);
      patchStatements.set(key, statement);
    }
    statement.run({ ...values, id: row.id });
  };

  const transition = (id: string, request: TransitionRequest): Task => {
    const row = readRow(id);
    checkExpectations(row, request);
    const extra: Record<string, unknown> = { status: request.to };
    if (request.to === "in-queue" && row.queue_seq === null) extra.queue_seq = s.nextQueueSeq.get();
    applyPatch(row, request.patch ?? {}, extra);
    const { to: status, at, reason, detail, machineId } = request;
    appendHistory(id, { status, at, reason, detail, machineId });
    return hydrate(readRow(id));
  };

  return {
    create(task: NewTask): Task {
      if (s.byId.get(task.id) !== undefined) {
        throw new InvalidInputError(`task ${task.id} already exists; create it with a new id`);
      }
      s.insert.run({
        ...task,
        simulatorVersion: task.simulatorVersion ?? null,
        commandsJson: JSON.stringify(task.commands),
        envJson: JSON.stringify(task.env),
      });
      appendHistory(task.id, {
        status: "pending-input",
        at: task.createdAt,
        reason: "task created",
      });
      return hydrate(readRow(task.id));
    },
    read(id: string): Task | undefined {
      const row = s.byId.get(id) as TaskRow | undefined;
      return row === undefined ? undefined : hydrate(row);
    },
    list: createTaskLister(db, hydrateAll),
    transition,
    patch(id: string, patch: TaskPatch): Task {
      applyPatch(readRow(id), patch);
      return hydrate(readRow(id));
    },
    claimNext(
      group: string,
      machine: { id: string; host: string },
      at: number,
      leaseExpiresAt: number,
      filter?: ClaimFilter,
    ): Task | undefined {
      const head = s.firstQueued.get(group) as TaskRow | undefined;
      if (head === undefined) return undefined;
      // Someone else's head (see ClaimFilter): the first of this machine's own behind it.
      const passOver =
        filter !== undefined &&
        !filter.simulators.includes(head.simulator) &&
        s.liveMachineHas.get(group, head.simulator) !== undefined;
      const row = passOver ? firstQueuedOf(group, filter.simulators) : head;
      if (row === undefined) return undefined;
      return transition(row.id, {
        to: "submitted",
        at,
        reason: `claimed by machine ${machine.id}`,
        machineId: machine.id,
        patch: { machine: { id: machine.id, host: machine.host }, leaseExpiresAt },
      });
    },
    renewLease(taskId: string, machineId: string, leaseExpiresAt: number): Task {
      const row = readRow(taskId);
      const onMachine = row.status === "submitted" || row.status === "started";
      if (!onMachine || row.machine_id !== machineId) throw new LeaseLostError(taskId, machineId);
      applyPatch(row, { leaseExpiresAt });
      return hydrate(readRow(taskId));
    },
    expiredLeases: (now: number): Task[] => hydrateAll(s.expired.all(now) as TaskRow[]),
    active: (group: string): Task[] => hydrateAll(s.active.all(group) as TaskRow[]),
    onMachine: (group: string, machineId: string): Task[] =>
      hydrateAll(s.onMachine.all(group, machineId) as TaskRow[]),
    countQueued: (group: string): number => s.countQueued.get(group) as number,
    countActive: (group: string, upTo?: number): ActiveTaskCounts =>
      toActiveTaskCounts(
        s.countActive.all({ group, upTo: upTo ?? -1 }) as { status: string; count: number }[],
      ),
    projects: (owner?: string) =>
      (owner === undefined ? s.projectsAll.all() : s.projectsOf.all(owner)) as {
        name: string;
        taskCount: number;
      }[],
  };
}
