// Scenario 5: listing at scale. N tasks inserted in bulk, then `GET /api/v1/tasks` pages (what
// `tasks list` sends) over real HTTP as their owner: newest, filtered by status, and deep
// cursors; p50/p99 on SQLite and on PostgreSQL.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { createUser } from "../../src/services/users.js";
import { openPostgresTaskStore } from "../../src/store/postgres/postgres-task-store.js";
import { openSqliteTaskStore } from "../../src/store/sqlite/sqlite-task-store.js";
import { encodeCursor } from "../../src/store/cursor.js";
import type { TaskStore } from "../../src/store/task-store.js";
import type { BenchContext } from "../context.js";
import { insertPostgresTasks, insertSqliteTasks, type BulkPlan } from "../lib/bulk-tasks.js";
import { createBenchDeps, listenInProcess } from "../lib/in-process-server.js";
import { describeSamples, nowMs, type Distribution } from "../lib/stats.js";
import { checked, type ResultRow, type SkippedColumn } from "../result.js";

const SCENARIO = "5 listing";
const PAGE = 50;
const WARMUP = 3;

type Query = "newest" | "status=failed" | "deep cursor";

/** Times `samples` page requests of each kind; checks every page is full. */
async function measurePages(
  url: string,
  token: string,
  ids: readonly string[],
  samples: number,
): Promise<Record<Query, Distribution>> {
  const fetchPage = async (query: string): Promise<number> => {
    const started = nowMs();
    const response = await fetch(`${url}/api/v1/tasks?${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await response.json()) as { tasks?: unknown[] };
    const elapsed = nowMs() - started;
    if (response.status !== 200 || body.tasks?.length !== PAGE) {
      throw new Error(`GET /tasks?${query}: ${response.status}, ${body.tasks?.length} tasks`);
    }
    return elapsed;
  };
  // Deep cursors anywhere in the older half of the store, a different one each time.
  const deep = (i: number): string => {
    const index = Math.floor((((i * 7919) % 1000) / 1000) * (ids.length / 2));
    return `limit=${PAGE}&cursor=${encodeURIComponent(encodeCursor(ids[index + PAGE] as string))}`;
  };
  const queries: Record<Query, (i: number) => string> = {
    newest: () => `limit=${PAGE}`,
    "status=failed": () => `limit=${PAGE}&status=failed`,
    "deep cursor": deep,
  };
  const result = {} as Record<Query, Distribution>;
  for (const [name, query] of Object.entries(queries) as [Query, (i: number) => string][]) {
    for (let i = 0; i < WARMUP; i += 1) await fetchPage(query(samples + i));
    const times: number[] = [];
    for (let i = 0; i < samples; i += 1) times.push(await fetchPage(query(i)));
    result[name] = describeSamples(times);
  }
  return result;
}

/** Makes the owner, inserts the tasks, serves the store over HTTP and times the pages. */
async function measureStore(
  ctx: BenchContext,
  label: string,
  store: TaskStore,
  dataDir: string,
  insert: (plan: BulkPlan) => Promise<string[]>,
): Promise<Record<Query, Distribution>> {
  const deps = createBenchDeps(store, dataDir);
  const admin = { id: "admin", name: "admin", role: "admin" as const };
  const { user, token } = await createUser(deps, admin, "bench");
  ctx.log(`listing: inserting ${ctx.sizes.listingTasks} tasks into ${label}`);
  const started = nowMs();
  const ids = await insert({
    owner: user.id,
    machineGroup: "bench-list",
    count: ctx.sizes.listingTasks,
    allQueued: false,
  });
  ctx.log(`listing: inserted in ${Math.round(nowMs() - started)} ms; timing pages`);
  const server = await listenInProcess(deps);
  try {
    return await measurePages(server.url, token, ids, ctx.sizes.listingSamples);
  } finally {
    await server.close();
  }
}

export async function benchListing(ctx: BenchContext): Promise<{
  rows: ResultRow[];
  skipped: SkippedColumn[];
  details: Record<string, unknown>;
}> {
  const skipped: SkippedColumn[] = [];
  const details: Record<string, unknown> = { tasks: ctx.sizes.listingTasks, pageSize: PAGE };
  const dir = join(ctx.workDir, "listing-sqlite");
  await mkdir(dir, { recursive: true });
  const dbPath = join(dir, "flotilla.db");
  const sqliteStore = openSqliteTaskStore(dbPath);
  let sqlite: Record<Query, Distribution>;
  try {
    sqlite = await measureStore(ctx, "SQLite", sqliteStore, dir, (plan) =>
      Promise.resolve(insertSqliteTasks(dbPath, plan)),
    );
  } finally {
    await sqliteStore.close();
  }
  details.sqlite = sqlite;
  let postgres: Record<Query, Distribution> | undefined;
  if ("url" in ctx.postgres) {
    postgres = await measurePostgres(ctx, ctx.postgres.url);
    details.postgres = postgres;
  } else {
    skipped.push({ column: "PostgreSQL", reason: ctx.postgres.unavailable });
  }
  const rows: ResultRow[] = [];
  for (const [label, result] of [
    ["SQLite", sqlite],
    ["PostgreSQL", postgres],
  ] as const) {
    for (const query of ["newest", "status=failed", "deep cursor"] as const) {
      const measured = result?.[query];
      rows.push(
        checked(
          {
            scenario: SCENARIO,
            measure: `${label}: ${query} page p50 (p99)`,
            value: measured?.p50 ?? null,
            unit: "ms",
            target: "p50 < 20 ms",
            note:
              measured === undefined
                ? `${label} not measured (see skipped)`
                : `p99 ${measured.p99} ms`,
          },
          (v) => v < 20,
        ),
      );
    }
  }
  return { rows, skipped, details };
}

async function measurePostgres(
  ctx: BenchContext,
  adminUrl: string,
): Promise<Record<Query, Distribution>> {
  const name = `flotilla_bench_${ctx.runId.replace(/[^a-z0-9]/g, "_")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const store = await openPostgresTaskStore(url.href);
    const loader = new pg.Client({ connectionString: url.href });
    await loader.connect();
    try {
      const dir = join(ctx.workDir, "listing-postgres");
      await mkdir(dir, { recursive: true });
      return await measureStore(ctx, "PostgreSQL", store, dir, (plan) =>
        insertPostgresTasks(loader, plan),
      );
    } finally {
      await loader.end();
      await store.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
