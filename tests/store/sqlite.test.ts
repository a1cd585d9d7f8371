import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { MIGRATIONS } from "../../src/store/sqlite/migrations.js";
import { openSqliteTaskStore } from "../../src/store/sqlite/sqlite-task-store.js";
import { listSql, type ListShape } from "../../src/store/sqlite/task-list.js";
import { runStoreConformance } from "./conformance.js";
import { queueTask } from "./conformance-support.js";

runStoreConformance("sqlite (real file, WAL)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-store-"));
  const path = join(dir, "flotilla.db");
  let current = openSqliteTaskStore(path);
  return {
    store: current,
    reopen: () => {
      current = openSqliteTaskStore(path);
      return Promise.resolve(current);
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("SQLite adapter", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-sqlite-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("opens in WAL mode and applies each migration once, however often it is reopened", async () => {
    const path = join(dir, "migrations.db");
    for (let i = 0; i < 3; i += 1)
      await openSqliteTaskStore(path, { clock: () => 1234 + i }).close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.deepEqual(
        db
          .prepare(
            "SELECT version, applied_at AS appliedAt FROM schema_migrations ORDER BY version",
          )
          .all(),
        MIGRATIONS.map(({ version }) => ({ version, appliedAt: 1234 })),
      );
    } finally {
      db.close();
    }
  });

  it("refuses to open a database written by a newer flotilla", async () => {
    const path = join(dir, "newer.db");
    await openSqliteTaskStore(path).close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)").run(
      MIGRATIONS.length + 1,
    );
    db.close();
    assert.throws(() => openSqliteTaskStore(path), /newer than this flotilla knows/);
  });

  it("every list statement walks an index in id order: no sort of all matches, no table scan", async () => {
    const path = join(dir, "plans.db");
    await openSqliteTaskStore(path).close();
    const db = new Database(path, { readonly: true });
    try {
      for (const shape of allListShapes()) {
        const params = {
          owner: "o",
          status: "success",
          project: "p",
          machineGroup: "g",
          before: "z",
          fetch: 51,
        };
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${listSql(shape)}`).all(params) as {
          detail: string;
        }[];
        const details = plan.map((step) => step.detail).join("; ");
        assert.doesNotMatch(details, /TEMP B-TREE/, `${JSON.stringify(shape)}: ${details}`);
        assert.doesNotMatch(
          details,
          /SCAN tasks(?! USING)/,
          `${JSON.stringify(shape)}: ${details}`,
        );
      }
    } finally {
      db.close();
    }
  });

  it("claims from several connections at once hand each task to exactly one machine", async () => {
    const path = join(dir, "race.db");
    const store = openSqliteTaskStore(path);
    const queued = new Set<string>();
    for (let i = 0; i < 200; i += 1) queued.add((await queueTask(store, "race")).id);
    const workers = Array.from({ length: 4 }, (_, index) => startClaimer(path, index));
    for (const worker of workers) worker.postMessage("go");
    const claimed = (await Promise.all(workers.map(claimedBy))).flat();
    assert.equal(claimed.length, queued.size);
    assert.deepEqual(new Set(claimed), queued);
    assert.equal(await store.countQueued("race"), 0);
    await store.close();
  });

  it("close is idempotent and a closed store rejects further calls", async () => {
    const store = openSqliteTaskStore(join(dir, "closed.db"));
    await store.close();
    await store.close();
    await assert.rejects(store.getTask("000000000000000"));
  });
});

function allListShapes(): ListShape[] {
  const keys = ["owner", "status", "project", "machineGroup", "before"] as const;
  return Array.from(
    { length: 2 ** keys.length },
    (_, bits) =>
      Object.fromEntries(
        keys.map((key, i) => [key, (bits & (1 << i)) !== 0]),
      ) as unknown as ListShape,
  );
}

// A worker thread with its own connection claims until the queue is empty; it starts on "go" so
// that all of them contend for the write lock at once.
function startClaimer(path: string, index: number): Worker {
  const module = new URL("../../src/store/sqlite/sqlite-task-store.js", import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    parentPort.once("message", async () => {
      const { openSqliteTaskStore } = await import(workerData.module);
      const store = openSqliteTaskStore(workerData.path);
      const claimed = [];
      for (;;) {
        const now = Date.now();
        const task = await store.claimNextTask("race", { id: "w" + workerData.index, host: "h" }, now, now + 60000);
        if (task === undefined) break;
        claimed.push(task.id);
      }
      await store.close();
      parentPort.postMessage(claimed);
    });`;
  return new Worker(code, { eval: true, workerData: { module, path, index } });
}

function claimedBy(worker: Worker): Promise<string[]> {
  return new Promise((resolve, reject) => {
    worker.once("message", (ids: string[]) => resolve(ids));
    worker.once("error", reject);
  });
}
