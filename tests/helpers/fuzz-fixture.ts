// A served test app with users, groups, a machine and tasks in several states, for fuzzing every
// route over real HTTP. Also: a snapshot of the store file and the blob dir, to prove a rejected
// request changed nothing.
import { serve, type ServerType } from "@hono/node-server";
import Database from "better-sqlite3";
import { readdir } from "node:fs/promises";
import type { Server as HttpServer } from "node:http";
import { join, relative } from "node:path";
import { createApp } from "../../src/server/create-app.js";
import { createTestApp, type TestApp } from "./app-harness.js";
import { createGroup, json, makeInputArchive, registerMachine, submit } from "./protocol.js";

export type PrincipalName = "admin" | "alice" | "bob" | "runner" | "none" | "garbage";

export interface FuzzFixture {
  readonly app: TestApp;
  readonly url: string;
  /** Routes of the app as Hono lists them (method + path pattern), middleware excluded. */
  readonly routes: readonly { method: string; path: string }[];
  readonly tokens: Readonly<Record<PrincipalName, string | undefined>>;
  /** Known-good values for path and body fields, so that fuzzing reaches past the id checks. */
  readonly ids: {
    readonly aliceTasks: readonly string[];
    readonly bobTask: string;
    readonly machineId: string;
    readonly groups: readonly string[];
    readonly userIds: readonly string[];
  };
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export async function openFuzzFixture(): Promise<FuzzFixture> {
  const app = await createTestApp();
  const alice = await json<{ token: string; user: { id: string } }>(
    await app.request("POST", "/api/v1/users", { json: { name: "alice" } }),
    201,
  );
  const bob = await json<{ token: string; user: { id: string } }>(
    await app.request("POST", "/api/v1/users", { json: { name: "bob" } }),
    201,
  );
  await json(
    await app.request("POST", "/api/v1/machine-groups", {
      token: alice.token,
      json: { name: "ga", provider: "local", numMachines: 1 },
    }),
    201,
  );
  const runnerToken = app.provider.started.find((entry) => entry.group === "ga")?.token ?? "";
  await createGroup(app, "gb");
  await submit(app, { machineGroup: "gb" }); // an admin's queued task in another group
  const queued = await submitAs(app, alice.token, "ga");
  const started = await submitAs(app, alice.token, "ga");
  const machine = await registerMachine(app, "ga", runnerToken);
  // A second machine whose control queue the fuzzer may drain without starving the first.
  await json(
    await app.request("POST", "/api/v1/runner/register", {
      token: runnerToken,
      json: { machineGroup: "ga", host: "h2", machineId: "m-fuzz-2" },
    }),
    200,
  );
  // The machine claims the oldest queued task of ga: make it `started`.
  const claimed = await machine.claim();
  if (claimed !== undefined) await machine.started(claimed.id);
  const pending = await json<{ id: string }>(
    await app.request("POST", "/api/v1/tasks", {
      token: alice.token,
      json: { simulator: "custom", commands: [["true"]], machineGroup: "ga" },
    }),
    201,
  );
  const bobTask = await json<{ id: string }>(
    await app.request("POST", "/api/v1/tasks", {
      token: bob.token,
      json: { simulator: "custom", commands: [["true"]] },
    }),
    201,
  );
  const served = await listenOnLoopback(createApp(app.deps));
  const routes = createApp(app.deps)
    .routes.filter((route) => route.method !== "ALL")
    .map(({ method, path }) => ({ method, path }));
  const dbPath = join(app.dataDir, "flotilla.db");
  return {
    app,
    url: served.url,
    routes,
    tokens: {
      admin: app.adminToken,
      alice: alice.token,
      bob: bob.token,
      runner: runnerToken,
      none: undefined,
      garbage: "flt_not-a-real-token",
    },
    ids: {
      aliceTasks: [queued.id, started.id, pending.id, claimed?.id ?? queued.id],
      bobTask: bobTask.id,
      machineId: machine.id,
      groups: ["ga", "gb", "default"],
      userIds: [alice.user.id, bob.user.id, "admin"],
    },
    snapshot: () => snapshotState(dbPath, app.dataDir),
    async close() {
      await served.close();
      await app.close();
    },
  };
}

async function submitAs(app: TestApp, token: string, group: string): Promise<{ id: string }> {
  const created = await json<{ id: string }>(
    await app.request("POST", "/api/v1/tasks", {
      token,
      json: { simulator: "custom", commands: [["true"]], machineGroup: group },
    }),
    201,
  );
  await json(
    await app.request("PUT", `/api/v1/tasks/${created.id}/input`, {
      token,
      body: await makeInputArchive({ "in.txt": "x" }),
    }),
    200,
  );
  return created;
}

async function listenOnLoopback(
  app: ReturnType<typeof createApp>,
): Promise<{ url: string; close(): Promise<void> }> {
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) =>
      resolve({ server, port: info.port }),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as HttpServer).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every row of every table (minus last-seen times, which any runner call refreshes) + blob files. */
async function snapshotState(dbPath: string, dataDir: string): Promise<string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  const parts: string[] = [];
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as { name: string }[];
    for (const { name } of tables) {
      const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[];
      const lines = rows.map((row) => {
        delete row.last_seen_at;
        return JSON.stringify(row);
      });
      parts.push(`${name}: ${lines.sort().join("\n")}`);
    }
  } finally {
    db.close();
  }
  const files = await readdir(join(dataDir, "tasks"), { recursive: true }).catch(() => []);
  parts.push(
    `blobs: ${files
      .map((file) => relative(".", String(file)))
      .sort()
      .join(",")}`,
  );
  return parts.join("\n");
}
