// LISTEN/NOTIFY between server processes sharing one database. Writes NOTIFY inside their
// transaction, so a notification is delivered exactly when (and only if) the change commits.
import pg from "pg";
import type { Queryable } from "./connection.js";

/** The PostgreSQL channels, prefixed so that other applications on the database do not collide. */
const CHANNELS = {
  task: "flotilla_task",
  queue: "flotilla_queue",
  log: "flotilla_log",
  control: "flotilla_control",
} as const;

/**
 * `task`: a task changed (payload: its id). `queue`: a task entered a queue, or the group's status
 * changed (payload: group). `log`: a task's log grew (payload: `<task id>:<stream>`; sent by
 * callers, not by the store's own writes). `control`: the control relay between servers
 * (payload: `request:<id>` or `reply:<id>`).
 */
export type NotificationChannel = keyof typeof CHANNELS;

/**
 * `senderPid` is the PostgreSQL backend process that sent the notification: a store recognises
 * its own connections' notifications by it.
 */
export type NotificationListener = (
  channel: NotificationChannel,
  payload: string,
  senderPid: number,
) => void;

export interface SubscribeOptions {
  /**
   * Called when the listening connection was lost and is back: notifications sent meanwhile
   * were missed, so whatever waits should check again.
   */
  readonly onReconnect?: () => void;
}

export async function notify(
  db: Queryable,
  channel: NotificationChannel,
  payload: string,
): Promise<void> {
  await db.query("SELECT pg_notify($1, $2)", [CHANNELS[channel], payload]);
}

function channelOf(name: string): NotificationChannel | undefined {
  if (name === CHANNELS.task) return "task";
  if (name === CHANNELS.queue) return "queue";
  if (name === CHANNELS.log) return "log";
  if (name === CHANNELS.control) return "control";
  return undefined;
}

const MAX_RECONNECT_DELAY_MS = 5000;

/**
 * LISTENs on a dedicated connection (a pooled one would be handed to other work) until the
 * returned function is called; a lost connection is re-established with a growing delay.
 */
export async function listen(
  config: pg.ClientConfig,
  onNotification: NotificationListener,
  hooks: SubscribeOptions & { readonly onError: (error: Error) => void },
): Promise<() => Promise<void>> {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const deliver = (message: pg.Notification): void => {
    const channel = channelOf(message.channel);
    if (channel === undefined || message.payload === undefined) return;
    try {
      onNotification(channel, message.payload, message.processId);
    } catch (error) {
      hooks.onError(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const connect = async (): Promise<pg.Client> => {
    const next = new pg.Client({ ...config, keepAlive: true });
    next.on("notification", deliver);
    next.on("error", hooks.onError);
    next.on("end", () => {
      if (client !== next || closed) return;
      client = undefined;
      reconnectLater(1);
    });
    try {
      await next.connect();
      await next.query(
        Object.values(CHANNELS)
          .map((name) => `LISTEN ${name};`)
          .join(" "),
      );
      return next;
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
  };
  const reconnectLater = (attempt: number): void => {
    const delayMs = Math.min(MAX_RECONNECT_DELAY_MS, 100 * 2 ** attempt);
    retry = setTimeout(() => {
      connect().then(
        (next) => {
          if (closed) return void next.end().catch(() => undefined);
          client = next;
          hooks.onReconnect?.();
        },
        (error: unknown) => {
          hooks.onError(error instanceof Error ? error : new Error(String(error)));
          if (!closed) reconnectLater(attempt + 1);
        },
      );
    }, delayMs);
    // A pending reconnection alone must not keep the process alive.
    retry.unref();
  };

  client = await connect();
  return async () => {
    if (closed) return;
    closed = true;
    clearTimeout(retry);
    const current = client;
    client = undefined;
    await current?.end().catch(() => undefined);
  };
}
