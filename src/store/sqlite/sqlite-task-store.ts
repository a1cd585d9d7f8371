// The SQLite adapter of TaskStore: better-sqlite3, WAL, one IMMEDIATE transaction per write.
// better-sqlite3 is synchronous, so each operation is atomic; the async interface wraps it.
import Database from "better-sqlite3";
import { FlotillaError } from "../../domain/errors.js";
import type { TaskStore } from "../task-store.js";
import { migrate } from "./migrations.js";
import { createRegistry } from "./sqlite-registry.js";
import { createTaskTable } from "./task-table.js";

const BUSY_TIMEOUT_MS = 5000;

export interface SqliteTaskStoreOptions {
  /** Stamps schema_migrations.applied_at; every other time comes from the caller. */
  readonly clock?: () => number;
}

/** `flotilla db migrate` on SQLite: opens the file, applies what it lacks, closes it. */
export function migrateSqlite(path: string): { applied: number[]; version: number } {
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    return migrate(db, path, Date.now);
  } finally {
    db.close();
  }
}

export function openSqliteTaskStore(path: string, options: SqliteTaskStoreOptions = {}): TaskStore {
  const db = new Database(path);
  try {
    // busy_timeout first, so that switching to WAL waits for another process instead of failing.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db, path, options.clock ?? Date.now);
  } catch (error) {
    db.close();
    throw error;
  }
  const tasks = createTaskTable(db);
  const registry = createRegistry(db);
  const run = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(asStoreError(error, path));
    }
  };
  const write = <T>(work: () => T): Promise<T> => run(() => db.transaction(work).immediate());
  return {
    createTask: (task) => write(() => tasks.create(task)),
    getTask: (id) => run(() => tasks.read(id)),
    listTasks: (query) => run(() => tasks.list(query)),
    transitionTask: (id, request) => write(() => tasks.transition(id, request)),
    patchTask: (id, patch) => write(() => tasks.patch(id, patch)),
    claimNextTask: (group, machine, at, leaseExpiresAt, patchFor, filter) =>
      write(() => {
        const claimed = tasks.claimNext(group, machine, at, leaseExpiresAt, filter);
        if (claimed === undefined) return undefined;
        registry.markBusy(machine.id, claimed.id, at);
        const patch = patchFor?.(claimed);
        return patch === undefined ? claimed : tasks.patch(claimed.id, patch);
      }),
    renewLease: (taskId, machineId, leaseExpiresAt) =>
      write(() => tasks.renewLease(taskId, machineId, leaseExpiresAt)),
    listExpiredLeases: (now) => run(() => tasks.expiredLeases(now)),
    listActiveTasks: (group) => run(() => tasks.active(group)),
    listTasksOnMachine: (group, machineId) => run(() => tasks.onMachine(group, machineId)),
    countQueued: (group) => run(() => tasks.countQueued(group)),
    countActiveTasks: (group, upTo) => run(() => tasks.countActive(group, upTo)),
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
    close: () => run(() => void (db.open && db.close())),
  };
}

// Another process holding the write lock past busy_timeout is a retryable condition, not a bug.
function asStoreError(error: unknown, path: string): Error {
  if (error instanceof Database.SqliteError && error.code.startsWith("SQLITE_BUSY")) {
    return new FlotillaError(
      "UNAVAILABLE",
      `database ${path} stayed locked by another process for ${BUSY_TIMEOUT_MS} ms; retry`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
