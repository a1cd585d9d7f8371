// Connections of the PostgreSQL adapter: client settings, transactions with retries, and the
// mapping of driver errors to FlotillaErrors.
import pg from "pg";
import { FlotillaError, InvalidInputError } from "../../domain/errors.js";

/** A pool or one of its clients: anything that runs a statement. */
export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

const INT8_OID = 20;
const CONNECT_TIMEOUT_MS = 10_000;
const MAX_ATTEMPTS = 5;

// BIGINT columns hold epoch milliseconds and counts, all far below 2^53; pg would return them
// as strings. Set per connection, not on pg.types, so other pg users in the process are unaffected.
const types: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: "text" | "binary"): unknown =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format) as unknown),
};

export function clientConfig(connectionString: string): pg.ClientConfig {
  return { connectionString, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
}

/** The database for messages: scheme, host, port and name, never the password. */
export function describeDatabase(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return "the PostgreSQL database";
  }
}

export async function rows<T extends pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T[]> {
  return (await db.query<T>(sql, params as unknown[])).rows;
}

/**
 * Runs `work` in one READ COMMITTED transaction on a client of the pool. Rows are locked with
 * FOR UPDATE where a decision depends on them; deadlocks and serialization failures are retried
 * from the start, as PostgreSQL asks, a few times with a growing random delay.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      broken = await rollback(client);
      if (attempt < MAX_ATTEMPTS && isRetryable(error)) {
        await delay(Math.random() * 20 * attempt);
        continue;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

// A client whose ROLLBACK fails is broken; releasing it with the error removes it from the pool.
async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query("ROLLBACK");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function isRetryable(error: unknown): boolean {
  return error instanceof pg.DatabaseError && (error.code === "40001" || error.code === "40P01");
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// SQLSTATEs of values the database refused: bad numbers, NUL characters, oversized values.
const REJECTED_VALUE = new Set(["22P02", "22003", "22P05", "22021", "54000"]);

/** Driver errors as FlotillaErrors; FlotillaErrors and unknown errors pass through. */
export function asStoreError(error: unknown, database: string): Error {
  if (error instanceof FlotillaError) return error;
  if (error instanceof pg.DatabaseError) return fromDatabaseError(error, database);
  if (isConnectionFailure(error)) {
    return new FlotillaError(
      "UNAVAILABLE",
      `database ${database} is unreachable (${error.message}); check FLOTILLA_DATABASE_URL and that PostgreSQL is running`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function fromDatabaseError(error: pg.DatabaseError, database: string): Error {
  const code = error.code ?? "";
  // Every insert of the adapter handles its conflicts; this is the safety net for a race.
  if (code === "23505") return new InvalidInputError(`${error.detail ?? error.message}; retry`);
  if (REJECTED_VALUE.has(code)) {
    return new InvalidInputError(`the database refused a value: ${error.message}`);
  }
  if (code === "40001" || code === "40P01") {
    return new FlotillaError(
      "UNAVAILABLE",
      `database ${database} kept aborting this write to resolve conflicts with concurrent writes; retry`,
      { cause: error },
    );
  }
  if (code.startsWith("08") || code.startsWith("57P") || code === "53300") {
    return new FlotillaError(
      "UNAVAILABLE",
      `database ${database} is unavailable (${error.message}); retry`,
      { cause: error },
    );
  }
  return error;
}

// Socket errors carry a Node code; pg's own connection errors are plain Errors.
function isConnectionFailure(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && /^(ECONN|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|EPIPE|EAI_)/.test(code)) {
    return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect/.test(error.message);
}
