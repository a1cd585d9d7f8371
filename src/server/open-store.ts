// The store a server runs on: SQLite in the data dir by default, PostgreSQL when a database URL is
// configured. With PostgreSQL several server processes share one database; the bridge turns the
// other servers' notifications into publishes on this server's event hubs, so waits, SSE streams,
// log follows, runner claims and kills stay push-driven whichever server made the change.
import { join } from "node:path";
import type { ServerConfig } from "../config/server-config.js";
import { isTerminalStatus } from "../domain/task-status.js";
import type { Task } from "../domain/task.js";
import { createEventHub, type EventHub } from "../lib/event-hub.js";
import type { ServiceDeps, TaskEvents } from "../services/service-deps.js";
import { ALL_TASKS, publishTask } from "../services/task-events.js";
import {
  openPostgresTaskStore,
  type PostgresTaskStore,
} from "../store/postgres/postgres-task-store.js";
import { openSqliteTaskStore } from "../store/sqlite/sqlite-task-store.js";
import type { TaskStore } from "../store/task-store.js";

type Log = ServiceDeps["log"];

export interface OpenedStore {
  readonly store: TaskStore;
  /** "sqlite" or "postgres", for the start-up log line. */
  readonly kind: "sqlite" | "postgres";
  readonly events: TaskEvents;
  /** Starts relaying other servers' changes into `deps`' hubs; resolves with its stop function. */
  connect(deps: ServiceDeps): Promise<() => Promise<void>>;
}

export async function openStore(config: ServerConfig, log: Log): Promise<OpenedStore> {
  if (config.databaseUrl === undefined) {
    return {
      store: openSqliteTaskStore(join(config.dataDir, "flotilla.db")),
      kind: "sqlite",
      events: { tasks: createEventHub(), queues: createEventHub(), logs: createEventHub() },
      connect: () => Promise.resolve(() => Promise.resolve()),
    };
  }
  const store = await openPostgresTaskStore(config.databaseUrl, {
    onError: (error) => log("database connection error", { error: error.message }),
  });
  const logs = createEventHub<number>();
  return {
    store,
    kind: "postgres",
    events: {
      tasks: createEventHub(),
      queues: createEventHub(),
      logs: broadcastingLogs(logs, store, log),
    },
    connect: (deps) => relayNotifications(store, deps, logs, log),
  };
}

/** Log appends are not store writes: this hub tells the other servers about them. */
function broadcastingLogs(
  local: EventHub<number>,
  store: PostgresTaskStore,
  log: Log,
): EventHub<number> {
  return {
    ...local,
    publish(key, value) {
      local.publish(key, value);
      store.notify("log", key).catch((error: unknown) => {
        log("log notification failed", { key, error: String(error) });
      });
    },
  };
}

async function relayNotifications(
  store: PostgresTaskStore,
  deps: ServiceDeps,
  localLogs: EventHub<number>,
  log: Log,
): Promise<() => Promise<void>> {
  // Kills requested on another server for tasks whose machine is attached here, sent once.
  const killsRelayed = new Set<string>();
  const relayKill = (task: Task): void => {
    if (isTerminalStatus(task.status)) {
      killsRelayed.delete(task.id);
      return;
    }
    const machine = task.machine?.id;
    if (task.killRequestedAt === undefined || machine === undefined) return;
    if (killsRelayed.has(task.id) || !deps.control.isPolling(machine)) return;
    killsRelayed.add(task.id);
    deps.control.send(machine, { type: "kill", taskId: task.id, graceMs: task.killGraceMs });
  };
  const republishTask = (id: string): void => {
    store.getTask(id).then(
      (task) => {
        if (task === undefined) return;
        relayKill(task);
        publishTask(deps, task);
      },
      (error: unknown) => log("relaying a task change failed", { id, error: String(error) }),
    );
  };
  return store.subscribe(
    (channel, payload, fromThisStore) => {
      // This server already published its own changes when it made them.
      if (fromThisStore) return;
      if (channel === "task") republishTask(payload);
      else if (channel === "queue") deps.events.queues.publish(payload, payload);
      else localLogs.publish(payload, 0);
    },
    {
      // Notifications sent while the listening connection was down are lost: wake every waiter
      // so that it checks again.
      onReconnect: () => {
        log("database notifications reconnected; waking every waiter");
        for (const id of deps.events.tasks.keys()) if (id !== ALL_TASKS) republishTask(id);
        for (const group of deps.events.queues.keys()) deps.events.queues.publish(group, group);
        for (const key of localLogs.keys()) localLogs.publish(key, 0);
      },
    },
  );
}
