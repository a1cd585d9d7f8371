// Load: 4 real runners and 2,000 tasks, each touching its own marker file; then 200 concurrent
// wait() callers and 50 concurrent log followers on one server child process whose RSS is
// measured before and after. Every task must run exactly once (one marker, attempt 1) and every
// status history must follow the transition table.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { canTransition, type TaskStatus } from "../../src/domain/task-status.js";
import { Flotilla } from "../../src/sdk/client.js";
import {
  findFreePort,
  readAdminToken,
  startServerProcess,
  type ServerProcess,
} from "../helpers/server-process.js";

const TASKS = Number(process.env.FLOTILLA_LOAD_TASKS ?? "2000");

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
}

/** Runs `action` over `items` with at most `limit` at a time. */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  action: (item: T) => Promise<R>,
) {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await action(items[index] as T);
      }
    }),
  );
  return results;
}

describe("load", () => {
  it(`4 runners run ${TASKS} tasks exactly once; 200 waiters and 50 log followers are all served`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "flotilla-load-"));
    const work = await mkdtemp(join(tmpdir(), "flotilla-load-work-"));
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess({ dataDir, port: await findFreePort() });
      const client = new Flotilla({ url: server.url, token: await readAdminToken(dataDir) });
      const input = join(work, "input");
      const markers = join(work, "markers");
      await import("node:fs/promises").then(async (fs) => {
        await fs.mkdir(input);
        await fs.mkdir(markers);
      });
      await writeFile(join(input, "in.txt"), "x");
      await client.createMachineGroup({ name: "load", provider: "local", numMachines: 4 });
      const rssBefore = await rssKiB(server.pid);
      const started = performance.now();
      const ids = await inParallel(
        Array.from({ length: TASKS }, (_, index) => index),
        16,
        async (index) => {
          const task = await client.createTask({
            simulator: "custom",
            commands: [["touch", join(markers, String(index))]],
            machineGroup: "load",
          });
          await client.uploadInput(task.id, input);
          return task.id;
        },
      );
      const submittedMs = performance.now() - started;

      // While the queue drains: 200 waiters on the last tasks, 50 followers of their logs.
      const watched = ids.slice(-200);
      const waiters = watched.map(async (id) => {
        for (;;) {
          const task = await client.waitTask(id, 30_000);
          if (task.isTerminal) return task;
        }
      });
      const followers = watched.slice(0, 50).map(async (id) => {
        const response = await client.openLogs(id, { follow: true });
        return response.text();
      });
      const waited = await Promise.all(waiters);
      const followed = await Promise.all(followers);
      assert.equal(waited.length, 200);
      assert.ok(waited.every((task) => task.status === "success"));
      assert.equal(followed.length, 50, "every follower's stream ended with its task");

      const finals = await inParallel(ids, 16, async (id) => {
        for (;;) {
          const task = await client.waitTask(id, 30_000);
          if (task.isTerminal) return task;
        }
      });
      const totalMs = performance.now() - started;
      const rssAfter = await rssKiB(server.pid);
      const bad = finals.filter((task) => task.status !== "success" || task.attempt !== 1);
      assert.deepEqual(
        bad.map((task) => `${task.id} ${task.status} attempt ${task.attempt}`),
        [],
        "every task succeeded on its first attempt",
      );
      for (const task of finals) {
        const statuses = task.statusHistory.map((entry) => entry.status);
        statuses.slice(1).forEach((status, index) => {
          const from = statuses[index] as TaskStatus;
          assert.ok(canTransition(from, status), `${task.id}: ${from} → ${status}`);
        });
      }
      const files = await readdir(markers);
      assert.equal(files.length, TASKS, "one marker per task: none lost, none run twice");
      assert.ok(
        rssAfter < Math.max(rssBefore * 4, 400 * 1024),
        `server RSS ${rssBefore} KiB → ${rssAfter} KiB`,
      );
      console.log(
        `load: ${TASKS} tasks in ${Math.round(totalMs)} ms (submitted in ${Math.round(submittedMs)} ms), 0 lost, 0 duplicates; 200 waiters + 50 followers served; server RSS ${rssBefore} → ${rssAfter} KiB`,
      );
    } finally {
      if (server !== undefined) {
        process.kill(server.pid, "SIGTERM");
        await server.exited;
      }
      await rm(dataDir, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });
});
