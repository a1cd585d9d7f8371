// The rows of the control relay (migration 3): requests for a machine attached to another server,
// and their replies. NOTIFY inside the same transaction, so a notification names a committed row.
import type pg from "pg";
import { rows, type Queryable } from "./connection.js";
import { notify } from "./notifications.js";

/** Requests older than this are abandoned (their asker timed out long ago) and deleted. */
const ABANDONED_AFTER_MS = 5 * 60_000;

export async function putRequest(
  client: pg.PoolClient,
  requestId: string,
  machineId: string,
  message: unknown,
  at: number,
): Promise<void> {
  await client.query("DELETE FROM control_relay WHERE created_at < $1", [at - ABANDONED_AFTER_MS]);
  await client.query(
    "INSERT INTO control_relay (request_id, machine_id, message, created_at) VALUES ($1, $2, $3, $4)",
    [requestId, machineId, JSON.stringify(message), at],
  );
  await notify(client, "control", `request:${requestId}`);
}

export async function getRequest(
  db: Queryable,
  requestId: string,
): Promise<{ machineId: string; message: unknown } | undefined> {
  const [row] = await rows<{ machine_id: string; message: unknown }>(
    db,
    "SELECT machine_id, message FROM control_relay WHERE request_id = $1 AND reply IS NULL",
    [requestId],
  );
  return row === undefined ? undefined : { machineId: row.machine_id, message: row.message };
}

export async function putReply(
  client: pg.PoolClient,
  requestId: string,
  reply: unknown,
): Promise<void> {
  const updated = await client.query(
    "UPDATE control_relay SET reply = $2 WHERE request_id = $1 AND reply IS NULL",
    [requestId, JSON.stringify(reply)],
  );
  if (updated.rowCount === 1) await notify(client, "control", `reply:${requestId}`);
}

/** The reply, once; the row is gone afterwards (also when there is no reply: given up). */
export async function takeReply(db: Queryable, requestId: string): Promise<unknown> {
  const [row] = await rows<{ reply: unknown }>(
    db,
    "DELETE FROM control_relay WHERE request_id = $1 RETURNING reply",
    [requestId],
  );
  return row?.reply ?? undefined;
}
