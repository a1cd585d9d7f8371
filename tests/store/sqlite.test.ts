import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteTaskStore } from "../../src/store/sqlite/sqlite-task-store.js";
import { runStoreConformance } from "./conformance.js";

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
      await current.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
});
