// Numbered migrations of the PostgreSQL schema, applied at open (and by `flotilla db migrate`)
// and recorded in schema_migrations. DDL is transactional in PostgreSQL, so all pending
// migrations run in one transaction: a failure leaves the schema as it was.
import pg from "pg";
import { FlotillaError } from "../../domain/errors.js";
import {
  asStoreError,
  clientConfig,
  describeDatabase,
  rows,
  type Queryable,
} from "./connection.js";
import * as m001 from "./migrations/001-initial.js";
import * as m002 from "./migrations/002-list-indexes.js";
import * as m003 from "./migrations/003-control-relay.js";
import * as m004 from "./migrations/004-queue-by-simulator.js";

export const MIGRATIONS: readonly { version: number; up: string }[] = [
  { version: 1, up: m001.up },
  { version: 2, up: m002.up },
  { version: 3, up: m003.up },
  { version: 4, up: m004.up },
];

// Any constant shared by every flotilla process; it names the migration lock among the
// advisory locks of this database.
const MIGRATION_LOCK_KEY = 7_878_001;

export interface MigrationResult {
  /** Versions applied by this call, in order; empty when the schema was up to date. */
  readonly applied: readonly number[];
  /** The schema version of the database now. */
  readonly version: number;
}

/**
 * Applies the migrations the database lacks. The transaction-scoped advisory lock makes a
 * second process starting at the same moment wait, then find the migrations recorded.
 */
export async function migrate(
  client: Queryable,
  database: string,
  now: () => number,
): Promise<MigrationResult> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    );
    const done = new Set(
      (await rows<{ version: number }>(client, "SELECT version FROM schema_migrations")).map(
        (row) => row.version,
      ),
    );
    refuseNewerSchema(done, database);
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.up);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
        migration.version,
        now(),
      ]);
      applied.push(migration.version);
    }
    await client.query("COMMIT");
    return { applied, version: Math.max(0, ...done, ...applied) };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

function refuseNewerSchema(done: ReadonlySet<number>, database: string): void {
  const newest = Math.max(0, ...done);
  const known = MIGRATIONS.at(-1)?.version ?? 0;
  if (newest > known) {
    throw new FlotillaError(
      "UNAVAILABLE",
      `database ${database} has schema version ${newest}, newer than this flotilla knows (${known}); upgrade flotilla or use another database`,
    );
  }
}

/** `flotilla db migrate`: connects, applies the pending migrations, disconnects. */
export async function migratePostgres(
  connectionString: string,
  options: { readonly clock?: () => number } = {},
): Promise<MigrationResult> {
  const database = describeDatabase(connectionString);
  const client = new pg.Client(clientConfig(connectionString));
  // Without a listener an error on the idle socket would crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await migrate(client, database, options.clock ?? Date.now);
  } catch (error) {
    throw asStoreError(error, database);
  } finally {
    await client.end().catch(() => undefined);
  }
}
