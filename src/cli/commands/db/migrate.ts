// `flotilla db migrate`: brings the store's schema up to date without starting a server (a server
// also migrates when it starts). PostgreSQL with --database or FLOTILLA_DATABASE_URL, else the
// SQLite file of the data dir.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { loadServerConfig } from "../../../config/server-config.js";
import { withExamples } from "../../command-helpers.js";
import type { CliIo } from "../../io.js";
import { printJson } from "../../output/json.js";

export function registerDbMigrate(db: Command, io: CliIo): void {
  const command = db
    .command("migrate")
    .description("apply the store's pending schema migrations (servers also do it at start)")
    .option("--database <url>", "PostgreSQL URL (env FLOTILLA_DATABASE_URL); else SQLite")
    .option("--data-dir <dir>", "the SQLite store's data dir (env FLOTILLA_DATA_DIR)")
    .option("--json", "print { store, applied, version } as JSON")
    .action(async (options: { database?: string; dataDir?: string; json?: boolean }) => {
      const config = loadServerConfig(
        { database: options.database, dataDir: options.dataDir },
        process.env,
      );
      let where: string;
      let result: { readonly applied: readonly number[]; readonly version: number };
      if (config.databaseUrl !== undefined) {
        const { migratePostgres } = await import("../../../store/postgres/postgres-task-store.js");
        where = describeUrl(config.databaseUrl);
        result = await migratePostgres(config.databaseUrl);
      } else {
        const { migrateSqlite } = await import("../../../store/sqlite/sqlite-task-store.js");
        mkdirSync(config.dataDir, { recursive: true });
        where = join(config.dataDir, "flotilla.db");
        result = migrateSqlite(where);
      }
      if (options.json === true) {
        printJson(io, { store: where, applied: result.applied, version: result.version });
        return;
      }
      io.out(
        result.applied.length === 0
          ? `${where} is up to date (schema version ${result.version}).\n`
          : `${where}: applied migration${result.applied.length === 1 ? "" : "s"} ${result.applied.join(", ")}; schema version ${result.version}.\n`,
      );
    });
  withExamples(command, [
    "flotilla db migrate",
    "flotilla db migrate --database postgres://flotilla@db.example:5432/flotilla",
  ]);
}

/** The URL without its password, for messages. */
function describeUrl(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  return parsed.href;
}
