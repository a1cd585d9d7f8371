// The SQLite adapter of TaskStore: better-sqlite3, WAL, one IMMEDIATE transaction per write.
// better-sqlite3 is synchronous, so each operation is atomic; the async interface wraps it.
import Database from "better-sqlite3";
import {
  FlotillaError,
  InvalidInputError,
  LeaseLostError,
  taskNotFound,
} from "../../domain/errors.js";
import type { StatusHistoryEntry, Task } from "../../domain/task.js";
import { assertTransition, isTerminalStatus } from "../../domain/task-status.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type {
  NewTask,
  TaskListQuery,
  TaskPage,
  TaskPatch,
  TaskStore,
  TransitionRequest,
} from "../task-store.js";
import { migrate } from "./migrations.js";
import { createRegistry } from "./sqlite-registry.js";
import { toHistoryEntry, toTask, type HistoryRow, type TaskRow } from "./rows.js";

export function openSqliteTaskStore(path: string): TaskStore {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  migrate(db);
  const tasks = createTaskTable(db);
  const registry = createRegistry(db);
  const run = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const write = <T>(work: () => T): Promise<T> => run(() => db.transaction(work).immediate());
  return {
    createTask: (task) => write(() => tasks.create(task)),
    getTask: (id) => run(() => tasks.read(id)),
    listTasks: (query) => run(() => tasks.list(query)),
    transitionTask: (id, request) => write(() => tasks.transition(id, request)),
    patchTask: (id, patch) => write(() => tasks.patch(id, patch)),
    claimNextTask: (group, machine, at, leaseExpiresAt) =>
      write(() => {
        const claimed = tasks.claimNext(group, machine, at, leaseExpiresAt);
        if (claimed !== undefined) registry.markBusy(machine.id, claimed.id, at);
        return claimed;
      }),
    renewLease: (taskId, machineId, leaseExpiresAt) =>
      write(() => tasks.renewLease(taskId, machineId, leaseExpiresAt)),
    listExpiredLeases: (now) => run(() => tasks.expiredLeases(now)),
    listActiveTasks: (group) => run(() => tasks.active(group)),
    countQueued: (group) => run(() => tasks.countQueued(group)),
    listProjects: (owner) => run(() => tasks.projects(owner)),
    createMachineGroup: (group) => write(() => registry.createGroup(group)),
    getMachineGroup: (name) => run(() => registry.getGroup(name)),
    listMachineGroups: (owner) => run(() => registry.listGroups(owner)),
    setMachineGroupStatus: (name, status, at) =>
      write(() => registry.setGroupStatus(name, status, at)),
    createMachine: (machine) => write(() => registry.createMachine(machine)),
    getMachine: (id) => run(() => registry.getMachine(id)),
    listMachines: (group) => run(() => registry.listMachines(group)),
    updateMachine: (id, patch) => write(() => registry.updateMachine(id, patch)),
    createUser: (user) => write(() => registry.createUser(user)),
    findUserByTokenHash: (hash) => run(() => registry.findUserByTokenHash(hash)),
    listUsers: () => run(() => registry.listUsers()),
    revokeUser: (id, at) => write(() => registry.revokeUser(id, at)),
    close: () => run(() => void db.close()),
  };
}

const PATCH_COLUMNS: Record<Exclude<keyof TaskPatch, "machine" | "metrics">, string> = {
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

function createTaskTable(db: Database.Database) {
  const statements = {
    insert:
      db.prepare(`INSERT INTO tasks (id, owner, project, simulator, simulator_version, commands_json,
      machine_group, status, env_json, kill_grace_ms, created_at) VALUES (@id, @owner, @project, @simulator,
      @simulatorVersion, @commandsJson, @machineGroup, 'pending-input', @envJson, @killGraceMs, @createdAt)`),
    byId: db.prepare("SELECT * FROM tasks WHERE id = ?"),
    history: db.prepare("SELECT * FROM task_status_history WHERE task_id = ? ORDER BY seq"),
    nextSeq: db.prepare(
      "SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM task_status_history WHERE task_id = ?",
    ),
    addHistory:
      db.prepare(`INSERT INTO task_status_history (task_id, seq, status, at, reason, detail, machine_id)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    position: db.prepare(
      `SELECT COUNT(*) AS n FROM tasks WHERE machine_group = ? AND status = 'in-queue' AND queue_seq < ?`,
    ),
    nextQueueSeq: db.prepare(
      "UPDATE counters SET value = value + 1 WHERE name = 'queue_seq' RETURNING value",
    ),
    firstQueued: db.prepare(
      `SELECT * FROM tasks WHERE machine_group = ? AND status = 'in-queue' ORDER BY queue_seq LIMIT 1`,
    ),
    expired: db.prepare(
      `SELECT * FROM tasks WHERE status IN ('submitted', 'started') AND lease_expires_at < ? ORDER BY id`,
    ),
    active: db.prepare(
      `SELECT * FROM tasks WHERE machine_group = ? AND status NOT IN ('success', 'failed', 'killed') ORDER BY id`,
    ),
    countQueued: db.prepare(
      `SELECT COUNT(*) AS n FROM tasks WHERE machine_group = ? AND status = 'in-queue'`,
    ),
    projectsAll: db.prepare(
      "SELECT project AS name, COUNT(*) AS taskCount FROM tasks GROUP BY project ORDER BY project",
    ),
    projectsOf: db.prepare(
      "SELECT project AS name, COUNT(*) AS taskCount FROM tasks WHERE owner = ? GROUP BY project ORDER BY project",
    ),
  };
  const patchStatements = new Map<string, Database.Statement>();

  const hydrate = (row: TaskRow, history?: readonly StatusHistoryEntry[]): Task => {
    const entries = history ?? (statements.history.all(row.id) as HistoryRow[]).map(toHistoryEntry);
    const position =
      row.status === "in-queue" && row.queue_seq !== null
        ? (statements.position.get(row.machine_group, row.queue_seq) as { n: number }).n
        : undefined;
    return toTask(row, entries, position);
  };
  const readRow = (id: string): TaskRow => {
    const row = statements.byId.get(id) as TaskRow | undefined;
    if (row === undefined) throw taskNotFound(id);
    return row;
  };
  const appendHistory = (id: string, entry: StatusHistoryEntry): void => {
    const { seq } = statements.nextSeq.get(id) as { seq: number };
    statements.addHistory.run(
      id,
      seq,
      entry.status,
      entry.at,
      entry.reason,
      entry.detail ?? null,
      entry.machineId ?? null,
    );
  };
  const applyPatch = (
    row: TaskRow,
    patch: TaskPatch,
    extra: Record<string, unknown> = {},
  ): void => {
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
      const merged = { ...(JSON.parse(row.metrics_json) as object), ...patch.metrics };
      values.metrics_json = JSON.stringify(
        Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)),
      );
    }
    const columns = Object.keys(values).sort();
    if (columns.length === 0) return;
    const key = columns.join(",");
    let statement = patchStatements.get(key);
    if (statement === undefined) {
      statement = db.prepare(
        `UPDATE tasks SET ${columns.map((c) => `${c} = @${c}`).join(", ")} WHERE id = @id`,
      );
      patchStatements.set(key, statement);
    }
    statement.run({ ...values, id: row.id });
  };

  const checkExpectations = (row: TaskRow, request: TransitionRequest): void => {
    const expect = request.expect;
    if (expect?.machineId !== undefined && row.machine_id !== expect.machineId) {
      throw new LeaseLostError(row.id, expect.machineId);
    }
    if (expect?.fromStatuses !== undefined && !expect.fromStatuses.includes(row.status)) {
      if (isTerminalStatus(row.status)) {
        throw new FlotillaError(
          "TASK_ALREADY_FINISHED",
          `task ${row.id} is already ${row.status}; it cannot become ${request.to}`,
          {
            details: { taskId: row.id, status: row.status },
          },
        );
      }
      throw new FlotillaError(
        "INVALID_TRANSITION",
        `task ${row.id} is ${row.status}, not ${expect.fromStatuses.join(" or ")}`,
        {
          details: { taskId: row.id, from: row.status, to: request.to },
        },
      );
    }
    assertTransition(row.id, row.status, request.to);
  };

  const transition = (id: string, request: TransitionRequest): Task => {
    const row = readRow(id);
    checkExpectations(row, request);
    const extra: Record<string, unknown> = { status: request.to };
    if (request.to === "in-queue" && row.queue_seq === null) {
      extra.queue_seq = (statements.nextQueueSeq.get() as { value: number }).value;
    }
    applyPatch(row, request.patch ?? {}, extra);
    appendHistory(id, {
      status: request.to,
      at: request.at,
      reason: request.reason,
      detail: request.detail,
      machineId: request.machineId,
    });
    return hydrate(readRow(id));
  };

  const list = (query: TaskListQuery): TaskPage => {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, ...values: unknown[]): void => {
      where.push(clause);
      params.push(...values);
    };
    if (query.owner !== undefined) add("owner = ?", query.owner);
    if (query.statuses !== undefined && query.statuses.length > 0) {
      add(`status IN (${query.statuses.map(() => "?").join(", ")})`, ...query.statuses);
    }
    if (query.project !== undefined) add("project = ?", query.project);
    if (query.machineGroup !== undefined) add("machine_group = ?", query.machineGroup);
    if (query.cursor !== undefined) add("id < ?", decodeCursor(query.cursor));
    const sql = `SELECT * FROM tasks ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`} ORDER BY id DESC LIMIT ?`;
    const rows = db.prepare(sql).all(...params, query.limit + 1) as TaskRow[];
    const page = rows.slice(0, query.limit);
    const histories = historiesOf(page.map((row) => row.id));
    const tasks = page.map((row) => hydrate(row, histories.get(row.id) ?? []));
    const last = page[page.length - 1];
    return rows.length > query.limit && last !== undefined
      ? { tasks, nextCursor: encodeCursor(last.id) }
      : { tasks };
  };

  const historiesOf = (ids: readonly string[]): Map<string, StatusHistoryEntry[]> => {
    const byTask = new Map<string, StatusHistoryEntry[]>();
    if (ids.length === 0) return byTask;
    const rows = db
      .prepare(
        `SELECT * FROM task_status_history WHERE task_id IN (${ids.map(() => "?").join(", ")}) ORDER BY task_id, seq`,
      )
      .all(...ids) as HistoryRow[];
    for (const row of rows) {
      const entries = byTask.get(row.task_id) ?? [];
      entries.push(toHistoryEntry(row));
      byTask.set(row.task_id, entries);
    }
    return byTask;
  };

  return {
    create(task: NewTask): Task {
      if (statements.byId.get(task.id) !== undefined)
        throw new InvalidInputError(`task ${task.id} already exists`);
      statements.insert.run({
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
      const row = statements.byId.get(id) as TaskRow | undefined;
      return row === undefined ? undefined : hydrate(row);
    },
    list,
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
    ): Task | undefined {
      const row = statements.firstQueued.get(group) as TaskRow | undefined;
      if (row === undefined) return undefined;
      return transition(row.id, {
        to: "submitted",
        at,
        reason: `claimed by machine ${machine.id}`,
        machineId: machine.id,
        patch: { machine, leaseExpiresAt },
      });
    },
    renewLease(taskId: string, machineId: string, leaseExpiresAt: number): Task {
      const row = readRow(taskId);
      const onMachine = row.status === "submitted" || row.status === "started";
      if (!onMachine || row.machine_id !== machineId) throw new LeaseLostError(taskId, machineId);
      applyPatch(row, { leaseExpiresAt });
      return hydrate(readRow(taskId));
    },
    expiredLeases: (now: number): Task[] =>
      (statements.expired.all(now) as TaskRow[]).map((row) => hydrate(row)),
    active: (group: string): Task[] =>
      (statements.active.all(group) as TaskRow[]).map((row) => hydrate(row)),
    countQueued: (group: string): number => (statements.countQueued.get(group) as { n: number }).n,
    projects: (owner?: string) =>
      (owner === undefined ? statements.projectsAll.all() : statements.projectsOf.all(owner)) as {
        name: string;
        taskCount: number;
      }[],
  };
}
