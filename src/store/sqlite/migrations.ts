// Numbered migrations, applied in order at open and recorded in schema_migrations.
import type Database from "better-sqlite3";
import * as m001 from "./migrations/001-initial.js";

const MIGRATIONS: readonly { version: number; up: string }[] = [{ version: 1, up: m001.up }];

export function migrate(db: Database.Database): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
  );
  const applied = new Set(
    (db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map(
      (row) => row.version,
    ),
  );
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.up);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(
        migration.version,
        Date.now(),
      );
    }).immediate();
  }
}
