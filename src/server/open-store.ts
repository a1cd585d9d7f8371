// The store a server runs on: SQLite in the data dir by default, PostgreSQL when a database URL is
// configured. With PostgreSQL several server processes share one database; the bridge turns the
// other servers' notifications into publishes on this server's event hubs, so waits, SSE streams,
// log follows, runner claims and kills stay push-driven whichever server made the change.
import { join } from "node:path";
import type { ServerConfig } from "../config/server-config.js";
import { FlotillaError } from "../domain/errors.js";
import { createId } from "../domain/ids.js";
import { isTerminalStatus } from "../domain/task-status.js";
import type { Task } from "../domain/task.js";
import { createEventHub, type EventHub } from "../lib/event-hub.js";
import {
  createControlChannel,
  type ControlChannel,
  type ControlMessageInput,
  type ControlReply,
} from "../services/control-channel.js";
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
  /** The runners' control channel; with PostgreSQL it reaches machines of the other servers. */
  readonly control: ControlChannel;
  /** Starts relaying other servers' changes into `deps`' hubs; resolves with its stop function. */
  connect(deps: ServiceDeps): Promise<() => Promise<void>>;
}

export async function openStore(config: ServerConfig, log: Log): Promise<OpenedStore> {
  if (config.databaseUrl === undefined) {
    return {
      store: openSqliteTaskStore(join(config.dataDir, "flotilla.db")),
      kind: "sqlite",
      events: { tasks: createEventHub(), queues: createEventHub(), logs: createEventHub() },
      control: createControlChannel(),
      connect: () => Promise.resolve(() => Promise.resolve()),
    };
  }
  const store = await openPostgresTaskStore(config.databaseUrl, {
    onError: (error) => log("database connection error", { error: error.message }),
  });
  const logs = createEventHub<number>();
  const local = createControlChannel();
  const relay = createControlRelay(local, store, log);
  return {
    store,
    kind: "postgres",
    events: {
      tasks: createEventHub(),
      queues: createEventHub(),
      logs: broadcastingLogs(logs, store, log),
    },
    control: relay.control,
    connect: (deps) => relayNotifications(store, deps, logs, relay, log),
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
  relay: ControlRelay,
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
    if (killsRelayed.has(task.id) || !deps.control.isAttached(machine)) return;
    killsRelayed.add(task.id);
    deps.control.send(machine, { type: "kill", taskId: task.id, graceMs: task.killGraceMs });
  };
  // One read at a time per task, in notification order: an older state read on one pool
  // connection must not be published after a newer one read on another.
  const reading = new Map<string, Promise<void>>();
  const republishTask = (id: string): void => {
    const next = (reading.get(id) ?? Promise.resolve())
      .then(() => store.getTask(id))
      .then(
        (task) => {
          if (task === undefined) return;
          relayKill(task);
          publishTask(deps, task);
        },
        (error: unknown) => log("relaying a task change failed", { id, error: String(error) }),
      )
      .finally(() => {
        if (reading.get(id) === next) reading.delete(id);
      });
    reading.set(id, next);
  };
  return store.subscribe(
    (channel, payload, fromThisStore) => {
      // This server already published its own changes when it made them.
      if (fromThisStore) return;
      if (channel === "task") republishTask(payload);
      else if (channel === "queue") deps.events.queues.publish(payload, payload);
      else if (channel === "control") relay.onNotification(payload);
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

interface ControlRelay {
  readonly control: ControlChannel;
  /** A `control` notification of another server: `request:<id>` or `reply:<id>`. */
  onNotification(payload: string): void;
}

/** What a relayed request row holds: the message, and how long its asker waits. */
interface RelayedRequest {
  readonly message: ControlMessageInput;
  readonly timeoutMs: number;
}

/**
 * The control channel of a server sharing its database: a request for a machine attached here goes
 * to it directly; any other goes through the database to the server the machine polls, which asks
 * it and sends the reply back the same way. Kill and stop messages stay local (kills reach other
 * servers' machines through the task's own notification, see relayKill).
 */
function createControlRelay(
  local: ControlChannel,
  store: PostgresTaskStore,
  log: Log,
): ControlRelay {
  const waiting = new Map<string, () => void>();
  const unreachable = (machineId: string, timeoutMs: number): FlotillaError =>
    new FlotillaError(
      "MACHINE_UNREACHABLE",
      `machine ${machineId} did not answer within ${timeoutMs} ms; it may be overloaded or lost, try again`,
    );
  const askElsewhere = async (
    machineId: string,
    message: ControlMessageInput,
    timeoutMs: number,
  ): Promise<ControlReply> => {
    const requestId = createId();
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(requestId);
        resolve(false);
      }, timeoutMs);
      waiting.set(requestId, () => {
        clearTimeout(timer);
        waiting.delete(requestId);
        resolve(true);
      });
    });
    const request: RelayedRequest = { message, timeoutMs };
    await store.controlRelay.putRequest(requestId, machineId, request, Date.now());
    await answered;
    // Taken (and deleted) either way: a reply that came just after the deadline still counts.
    const reply = (await store.controlRelay.takeReply(requestId)) as ControlReply | undefined;
    if (reply === undefined) throw unreachable(machineId, timeoutMs);
    return reply;
  };
  const answer = async (requestId: string): Promise<void> => {
    const found = await store.controlRelay.getRequest(requestId);
    if (found === undefined || !local.isAttached(found.machineId)) return;
    const { message, timeoutMs } = found.message as RelayedRequest;
    // Answer a little before the asker gives up, so that a timeout here still reaches it.
    const reply = await local
      .request(found.machineId, message, Math.max(1000, timeoutMs - 1000))
      .catch((error: unknown): ControlReply => ({
        ok: false,
        error: {
          code: error instanceof FlotillaError ? error.code : "INTERNAL",
          message: error instanceof Error ? error.message : String(error),
        },
      }));
    await store.controlRelay.putReply(requestId, reply);
  };
  return {
    control: {
      ...local,
      request: (machineId, message, timeoutMs) =>
        local.isAttached(machineId)
          ? local.request(machineId, message, timeoutMs)
          : askElsewhere(machineId, message, timeoutMs),
    },
    onNotification(payload) {
      const [kind, requestId = ""] = payload.split(":", 2);
      if (kind === "reply") waiting.get(requestId)?.();
      else if (kind === "request") {
        answer(requestId).catch((error: unknown) =>
          log("answering a relayed control request failed", { requestId, error: String(error) }),
        );
      }
    },
  };
}
