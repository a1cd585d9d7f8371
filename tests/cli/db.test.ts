import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MIGRATIONS as PG_MIGRATIONS } from "../../src/store/postgres/migrations.js";
import { MIGRATIONS as SQLITE_MIGRATIONS } from "../../src/store/sqlite/migrations.js";
import { createTestDatabase, describeWithPostgres } from "../store/postgres-support.js";
import { runCli } from "./cli-harness.js";

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ...extra,
});

describe("flotilla db migrate", () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), "flotilla-cli-db-"));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it("applies the SQLite migrations of a data dir once, then says it is up to date", async () => {
    const first = await runCli(["db", "migrate", "--data-dir", work, "--json"], env());
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), {
      store: join(work, "flotilla.db"),
      applied: SQLITE_MIGRATIONS.map((m) => m.version),
      version: SQLITE_MIGRATIONS.at(-1)?.version,
    });
    const again = await runCli(["db", "migrate", "--data-dir", work], env());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /flotilla\.db is up to date \(schema version \d+\)/);
  });

  it("refuses a database URL that is not PostgreSQL, with exit 1 and what to do", async () => {
    const result = await runCli(["db", "migrate", "--database", "mysql://db/x"], env());
    assert.equal(result.code, 1);
    assert.match(result.stderr, /must be a PostgreSQL URL.*leave it unset to use SQLite/);
  });
});

describeWithPostgres("flotilla db migrate on PostgreSQL", () => {
  it("migrates the database of FLOTILLA_DATABASE_URL, hides the password, and says when it is unreachable", async () => {
    const database = await createTestDatabase();
    try {
      const url = new URL(database.url);
      url.password = "not-shown";
      const first = await runCli(["db", "migrate"], env({ FLOTILLA_DATABASE_URL: url.href }));
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stdout,
        new RegExp(`applied migrations ${PG_MIGRATIONS.map((m) => m.version).join(", ")}`),
      );
      assert.doesNotMatch(first.stdout, /not-shown/);
      const again = await runCli(["db", "migrate", "--database", database.url, "--json"], env());
      assert.deepEqual(JSON.parse(again.stdout).applied, []);
      const down = await runCli(
        ["db", "migrate", "--database", "postgres://nobody@127.0.0.1:1/none"],
        env(),
      );
      assert.equal(down.code, 1);
      assert.match(down.stderr, /unreachable.*check FLOTILLA_DATABASE_URL/);
    } finally {
      await database.drop();
    }
  });
});
