// Numbered migrations, applied in order at open and recorded in schema_migrations.
import type Database from "better-sqlite3";
import { FlotillaError } from "../../domain/errors.js";
import * as m001 from "./migrations/001-initial.js";
import * as m002 from "./migrations/002-list-indexes.js";
import * as m003 from "./migrations/003-queue-by-simulator.js";

export const MIGRATIONS: readonly { version: number; up: string }[] = [
  { version: 1, up: m001.up },
  { version: 2, up: m002.up },
  { version: 3, up: m003.up },
];

/** Applies the migrations this database lacks; safe when several processes open it at once. */
export function migrate(
  db: Database.Database,
  path: string,
  now: () => number,
): { applied: number[]; version: number } {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
  );
  const isApplied = db.prepare("SELECT 1 FROM schema_migrations WHERE version = ?").pluck();
  const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
  refuseNewerSchema(db, path);
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    // Checked again inside the write lock: another process may have applied it meanwhile.
    db.transaction(() => {
      if (isApplied.get(migration.version) !== undefined) return;
      db.exec(migration.up);
      record.run(migration.version, now());
      applied.push(migration.version);
    }).immediate();
  }
  const version = db.prepare("SELECT MAX(version) FROM schema_migrations").pluck().get() as number;
  return { applied, version };
}

function refuseNewerSchema(db: Database.Database, path: string): void {
  const newest = db.prepare("SELECT MAX(version) FROM schema_migrations").pluck().get() as
    number | null;
  const known = MIGRATIONS.at(-1)?.version ?? 0;
  if (newest !== null && newest > known) {
    throw new FlotillaError(
      "UNAVAILABLE",
      `database ${path} has schema version ${newest}, newer than this flotilla knows (${known}); upgrade flotilla or use another data dir`,
    );
  }
}
