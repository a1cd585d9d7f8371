import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import pg from "pg";
import { FlotillaError } from "../../src/domain/errors.js";
import { MIGRATIONS } from "../../src/store/postgres/migrations.js";
import {
  migratePostgres,
  openPostgresTaskStore,
  type PostgresTaskStore,
} from "../../src/store/postgres/postgres-task-store.js";
import { listStatement } from "../../src/store/postgres/task-list.js";
import { runStoreConformance } from "./conformance.js";
import { newTask, rejectsWith } from "./conformance-support.js";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "./postgres-support.js";

describeWithPostgres("PostgreSQL store", () => {
  runStoreConformance("postgres (real server, fresh database)", async () => {
    const database = await createTestDatabase();
    let current = await openPostgresTaskStore(database.url);
    return {
      store: current,
      reopen: async () => (current = await openPostgresTaskStore(database.url)),
      cleanup: async () => {
        await current.close();
        await database.drop();
      },
    };
  });
});

describeWithPostgres("PostgreSQL adapter", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => database.drop());

  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  it("servers opening a fresh database at once apply each migration exactly once", async () => {
    const stores = await Promise.all(
      Array.from({ length: 4 }, (_, i) => openPostgresTaskStore(database.url, { clock: () => i })),
    );
    await Promise.all(stores.map((store) => store.close()));
    await (await openPostgresTaskStore(database.url, { clock: () => 99 })).close();
    const applied = await query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    assert.deepEqual(
      applied.map((row) => row.version),
      MIGRATIONS.map((m) => m.version),
    );
    assert.deepEqual(await migratePostgres(database.url), {
      applied: [],
      version: MIGRATIONS.at(-1)?.version,
    });
  });

  it("migratePostgres applies every migration to an empty database and reports them", async () => {
    const empty = await createTestDatabase();
    try {
      assert.deepEqual(await migratePostgres(empty.url, { clock: () => 1234 }), {
        applied: MIGRATIONS.map((m) => m.version),
        version: MIGRATIONS.at(-1)?.version,
      });
    } finally {
      await empty.drop();
    }
  });

  it("refuses to open a database written by a newer flotilla", async () => {
    await (await openPostgresTaskStore(database.url)).close();
    const newer = (MIGRATIONS.at(-1)?.version ?? 0) + 1;
    await query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", [newer]);
    try {
      await assert.rejects(openPostgresTaskStore(database.url), /newer than this flotilla knows/);
    } finally {
      await query("DELETE FROM schema_migrations WHERE version = $1", [newer]);
    }
  });

  it("an unreachable server is UNAVAILABLE, naming the database without its password", async () => {
    const url = "postgres://postgres:secret@127.0.0.1:1/nowhere";
    await assert.rejects(openPostgresTaskStore(url), (error: unknown) => {
      assert.ok(error instanceof FlotillaError);
      assert.equal(error.code, "UNAVAILABLE");
      assert.match(error.message, /postgres:\/\/127\.0\.0\.1:1\/nowhere/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
  });

  it("a value PostgreSQL cannot store is INVALID_INPUT, not an internal error", async () => {
    const store = await openPostgresTaskStore(database.url);
    try {
      await rejectsWith(store.createTask(newTask({ project: "nul\u0000byte" })), "INVALID_INPUT");
    } finally {
      await store.close();
    }
  });

  it("close is idempotent, ends subscriptions, and a closed store rejects further calls", async () => {
    const store: PostgresTaskStore = await openPostgresTaskStore(database.url);
    await store.subscribe(() => undefined);
    await store.close();
    await store.close();
    await rejectsWith(store.getTask("000000000000000"), "UNAVAILABLE");
    const listeners = await query<{ count: number }>(
      "SELECT COUNT(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    );
    assert.equal(listeners[0]?.count, 0);
  });

  it("a list page reads a small part of a large table, whatever the filters: no sequential scan", async () => {
    const rowCount = Number(process.env.FLOTILLA_TEST_PLAN_ROWS ?? 200_000);
    await (await openPostgresTaskStore(database.url)).close();
    await seedTasks(database.url, rowCount);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const [table] = (
        await client.query<{ pages: number }>(
          "SELECT relpages AS pages FROM pg_class WHERE relname = 'tasks'",
        )
      ).rows;
      const pages = table?.pages ?? 0;
      for (const shape of allListShapes()) {
        const statement = listStatement(
          {
            owner: shape.owner ? "owner1" : undefined,
            project: shape.project ? "project1" : undefined,
            machineGroup: shape.machineGroup ? "group1" : undefined,
            statuses: (["success", "failed"] as const).slice(0, shape.statuses),
          },
          shape.before ? idOf(Math.floor(rowCount * 0.9)) : undefined,
          51,
        );
        const plan = await explain(client, statement.text, statement.values);
        const label = `${JSON.stringify(shape)}: ${describePlan(plan)}`;
        assert.ok(!describePlan(plan).includes("Seq Scan"), label);
        const blocks = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"];
        assert.ok(blocks < pages / 10, `${label} read ${blocks} of ${pages} table pages`);
      }
    } finally {
      await client.end();
    }
  });
});

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Shared Hit Blocks": number;
  "Shared Read Blocks": number;
  Plans?: PlanNode[];
}

async function explain(client: pg.Client, text: string, values: unknown[]): Promise<PlanNode> {
  const result = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`,
    values,
  );
  const plan = result.rows[0]?.["QUERY PLAN"][0]?.Plan;
  assert.ok(plan !== undefined);
  return plan;
}

function describePlan(node: PlanNode): string {
  const name = `${node["Node Type"]}${node["Index Name"] === undefined ? "" : ` ${node["Index Name"]}`}`;
  const children = (node.Plans ?? []).map(describePlan);
  return children.length === 0 ? name : `${name} > [${children.join(", ")}]`;
}

const idOf = (i: number): string => String(i).padStart(15, "0");

// Owners, projects, groups and statuses spread evenly, so that every filter matches many rows:
// the case where walking an index in id order is what keeps a page cheap.
async function seedTasks(url: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO tasks (id, owner, project, simulator, commands, machine_group, status, env,
         kill_grace_ms, created_at)
       SELECT lpad(to_char(i, 'FM999999999999999'), 15, '0'), 'owner' || (i % 4),
         'project' || (i % 8), 'custom', '[["true"]]', 'group' || (i % 3),
         (ARRAY['pending-input','in-queue','submitted','started','success','failed','killed'])[1 + i % 7],
         '{}', 1000, i
       FROM generate_series(1, $1::int) AS i`,
      [count],
    );
    await client.query("ANALYZE tasks");
  } finally {
    await client.end();
  }
}

function allListShapes(): {
  owner: boolean;
  project: boolean;
  machineGroup: boolean;
  before: boolean;
  statuses: number;
}[] {
  const shapes = [];
  for (let bits = 0; bits < 16; bits += 1) {
    for (const statuses of [0, 1, 2]) {
      shapes.push({
        owner: (bits & 1) !== 0,
        project: (bits & 2) !== 0,
        machineGroup: (bits & 4) !== 0,
        before: (bits & 8) !== 0,
        statuses,
      });
    }
  }
  return shapes;
}
