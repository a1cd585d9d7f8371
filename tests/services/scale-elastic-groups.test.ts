// The elastic scaler against a real SQLite store, with the recording provider of the app harness
// (no runner processes): how many machines it asks for, and how much it reads to decide.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createElasticScaler } from "../../src/services/scale-elastic-groups.js";
import type { TaskStore } from "../../src/store/task-store.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";
import { queueTask } from "../store/conformance-support.js";

// The store as the scaler sees it, counting the calls of each method.
function countingStore(store: TaskStore): { store: TaskStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const counted = new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function" || typeof key !== "string") return value;
      return (...args: unknown[]) => {
        calls.set(key, (calls.get(key) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls };
}

describe("elastic scaler", () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(async () => {
    await app.close();
  });

  it("a burst of queue changes costs one scaling step, which counts the queue without reading a task", async () => {
    const group = "burst";
    const created = await app.request("POST", "/api/v1/machine-groups", {
      json: { name: group, provider: "local", numMachines: 0, minMachines: 0, maxMachines: 3 },
    });
    assert.equal(created.status, 201, await created.text());
    const { store, calls } = countingStore(app.deps.store);
    const scaler = createElasticScaler({ ...app.deps, store });
    try {
      const startsBefore = app.provider.started.length;
      await scaler.sweep(); // subscribes to the group's queue events
      assert.equal(app.provider.started.length, startsBefore, "nothing queued: no machine");
      calls.clear();
      const queued = [];
      for (let i = 0; i < 200; i += 1) queued.push(await queueTask(app.deps.store, group));
      // As submissions publish them: one queue event per task, in two bursts. The events of a
      // burst come before its step begins, so they share it.
      for (const task of queued.slice(0, 100)) app.deps.events.queues.publish(group, task.id);
      await new Promise((resolve) => setImmediate(resolve));
      for (const task of queued.slice(100)) app.deps.events.queues.publish(group, task.id);
      await scaler.scale(group);
      assert.deepEqual(
        app.provider.started.slice(startsBefore).map(({ group: name, count }) => [name, count]),
        [[group, 3]],
        "up to maxMachines at once",
      );
      assert.equal(calls.get("countActiveTasks"), 2, "one step per burst");
      assert.equal(calls.get("listActiveTasks"), undefined, "no task is read");
      assert.equal(calls.get("getTask"), undefined, "no task is read");
    } finally {
      scaler.close();
    }
  });
});
