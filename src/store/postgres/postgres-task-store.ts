// The PostgreSQL adapter of TaskStore: a pg.Pool, one READ COMMITTED transaction per write with
// the rows it decides on locked, claims with FOR UPDATE SKIP LOCKED, and NOTIFY on commit so
// several server processes on one database can wake each other's waiters.
import pg from "pg";
import { FlotillaError } from "../../domain/errors.js";
import type { TaskStore } from "../task-store.js";
import {
  asStoreError,
  clientConfig,
  describeDatabase,
  inTransaction,
  type Queryable,
} from "./connection.js";
import { migrate } from "./migrations.js";
import {
  listen,
  notify,
  type NotificationChannel,
  type SubscribeOptions,
} from "./notifications.js";
import * as relay from "./control-relay.js";
import * as registry from "./postgres-registry.js";
import { readTask } from "./task-hydrator.js";
import { listTasks } from "./task-list.js";
import * as tasks from "./task-table.js";

export { migratePostgres, type MigrationResult } from "./migrations.js";
export type {
  NotificationChannel,
  NotificationListener,
  SubscribeOptions,
} from "./notifications.js";

export interface PostgresTaskStoreOptions {
  /** Stamps schema_migrations.applied_at; every other time comes from the caller. */
  readonly clock?: () => number;
  /** Connections of the pool (default 10). */
  readonly maxConnections?: number;
  /**
   * Errors of idle or listening connections, which no call is waiting for (the connection is
   * replaced). Without it they are dropped.
   */
  readonly onError?: (error: Error) => void;
}

/** Like NotificationListener, told whether this very store (its pool) sent the notification. */
export type StoreNotificationListener = (
  channel: NotificationChannel,
  payload: string,
  fromThisStore: boolean,
) => void;

export interface PostgresTaskStore extends TaskStore {
  /**
   * Calls `onNotification` for every task change (`task`, payload the task id), every task
   * entering a queue or group status change (`queue`, payload the group name) and every `log`
   * notification sent by any store on this database, this one included, until the returned
   * function is called. Uses a dedicated connection.
   */
  subscribe(
    onNotification: StoreNotificationListener,
    options?: SubscribeOptions,
  ): Promise<() => Promise<void>>;
  /** Sends a notification outside any write (log growth: many small appends, no row). */
  notify(channel: NotificationChannel, payload: string): Promise<void>;
  /**
   * The control relay between servers: a request for a machine attached to another server is
   * stored and announced (`control`, `request:<id>`); that server reads it, asks its machine and
   * stores the reply (`reply:<id>`), which the asker takes (and so deletes).
   */
  readonly controlRelay: {
    putRequest(requestId: string, machineId: string, message: unknown, at: number): Promise<void>;
    getRequest(requestId: string): Promise<{ machineId: string; message: unknown } | undefined>;
    putReply(requestId: string, reply: unknown): Promise<void>;
    takeReply(requestId: string): Promise<unknown>;
  };
}

/** Opens a pool on the database and brings its schema up to date before returning. */
export async function openPostgresTaskStore(
  connectionString: string,
  options: PostgresTaskStoreOptions = {},
): Promise<PostgresTaskStore> {
  const database = describeDatabase(connectionString);
  const onError = options.onError ?? (() => undefined);
  const config = clientConfig(connectionString);
  const pool = new pg.Pool({ ...config, max: options.maxConnections ?? 10 });
  // An idle client that fails is removed by the pool; without a listener it would crash us.
  pool.on("error", onError);
  // The backend pids of this pool's connections: notifications they sent are our own.
  const ownPids = new Set<number>();
  pool.on("connect", (client) => {
    const pid = (client as pg.PoolClient & { processID?: number }).processID;
    if (pid !== undefined) ownPids.add(pid);
  });
  pool.on("remove", (client) => {
    const pid = (client as pg.PoolClient & { processID?: number }).processID;
    if (pid !== undefined) ownPids.delete(pid);
  });
  try {
    const client = await pool.connect();
    try {
      await migrate(client, database, options.clock ?? Date.now);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end();
    throw asStoreError(error, database);
  }
  return createStore(pool, database, (listener, subscribeOptions) =>
    listen(
      config,
      (channel, payload, senderPid) => listener(channel, payload, ownPids.has(senderPid)),
      {
        ...subscribeOptions,
        onError,
      },
    ),
  );
}

function createStore(
  pool: pg.Pool,
  database: string,
  openListener: PostgresTaskStore["subscribe"],
): PostgresTaskStore {
  let closed = false;
  const subscriptions = new Set<() => Promise<void>>();
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    if (closed) {
      throw new FlotillaError("UNAVAILABLE", `the store of database ${database} is closed`);
    }
    try {
      return await work();
    } catch (error) {
      throw asStoreError(error, database);
    }
  };
  const read = <T>(work: (db: Queryable) => Promise<T>): Promise<T> => guard(() => work(pool));
  const write = <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    guard(() => inTransaction(pool, work));
  return {
    createTask: (task) => write((c) => tasks.createTask(c, task)),
    getTask: (id) => read((db) => readTask(db, id)),
    listTasks: (query) => read((db) => listTasks(db, query)),
    transitionTask: (id, request) => write((c) => tasks.transitionTask(c, id, request)),
    patchTask: (id, patch) => write((c) => tasks.patchTask(c, id, patch)),
    claimNextTask: (group, machine, at, leaseExpiresAt, patchFor, filter) =>
      write(async (c) => {
        const claimed = await tasks.claimNextTask(c, group, machine, at, leaseExpiresAt, filter);
        const patch = claimed === undefined ? undefined : patchFor?.(claimed);
        return patch === undefined || claimed === undefined
          ? claimed
          : tasks.patchTask(c, claimed.id, patch);
      }),
    renewLease: (taskId, machineId, leaseExpiresAt) =>
      write((c) => tasks.renewLease(c, taskId, machineId, leaseExpiresAt)),
    listExpiredLeases: (now) => read((db) => tasks.listExpiredLeases(db, now)),
    listActiveTasks: (group) => read((db) => tasks.listActiveTasks(db, group)),
    listTasksOnMachine: (group, machineId) =>
      read((db) => tasks.listTasksOnMachine(db, group, machineId)),
    countQueued: (group) => read((db) => tasks.countQueued(db, group)),
    countActiveTasks: (group, upTo) => read((db) => tasks.countActiveTasks(db, group, upTo)),
    listProjects: (owner) => read((db) => tasks.listProjects(db, owner)),
    createMachineGroup: (group) => write((c) => registry.createMachineGroup(c, group)),
    getMachineGroup: (name) => read((db) => registry.getMachineGroup(db, name)),
    listMachineGroups: (owner) => read((db) => registry.listMachineGroups(db, owner)),
    setMachineGroupStatus: (name, status, at) =>
      write((c) => registry.setMachineGroupStatus(c, name, status, at)),
    createMachine: (machine) => write((c) => registry.createMachine(c, machine)),
    getMachine: (id) => read((db) => registry.getMachine(db, id)),
    listMachines: (group) => read((db) => registry.listMachines(db, group)),
    updateMachine: (id, patch) => write((c) => registry.updateMachine(c, id, patch)),
    createUser: (user) => write((c) => registry.createUser(c, user)),
    findUserByTokenHash: (hash) => read((db) => registry.findUserByTokenHash(db, hash)),
    listUsers: () => read((db) => registry.listUsers(db)),
    revokeUser: (id, at) => write((c) => registry.revokeUser(c, id, at)),
    notify: (channel, payload) => read((db) => notify(db, channel, payload)),
    controlRelay: {
      putRequest: (id, machineId, message, at) =>
        write((c) => relay.putRequest(c, id, machineId, message, at)),
      getRequest: (id) => read((db) => relay.getRequest(db, id)),
      putReply: (id, reply) => write((c) => relay.putReply(c, id, reply)),
      takeReply: (id) => read((db) => relay.takeReply(db, id)),
    },
    subscribe: (listener, subscribeOptions) =>
      guard(async () => {
        const unsubscribe = await openListener(listener, subscribeOptions);
        const once = async (): Promise<void> => {
          subscriptions.delete(once);
          await unsubscribe();
        };
        subscriptions.add(once);
        return once;
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((unsubscribe) => unsubscribe()));
      await pool.end();
    },
  };
}
