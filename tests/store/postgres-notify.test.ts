// Several server processes on one database: NOTIFY reaches the other stores' subscribers, and
// claims from separate pools hand each task out once.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import {
  openPostgresTaskStore,
  type NotificationChannel,
  type PostgresTaskStore,
} from "../../src/store/postgres/postgres-task-store.js";
import { driveTo, newTask, queueTask, tick, unique } from "./conformance-support.js";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "./postgres-support.js";

interface Received {
  readonly channel: NotificationChannel;
  readonly payload: string;
}

/** Resolves once `check` holds, polling every 10 ms; fails after `timeoutMs`. */
async function waitUntil(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeWithPostgres("PostgreSQL stores sharing one database", () => {
  let database: TestDatabase;
  let first: PostgresTaskStore;
  let second: PostgresTaskStore;
  before(async () => {
    database = await createTestDatabase();
    [first, second] = await Promise.all([
      openPostgresTaskStore(database.url),
      openPostgresTaskStore(database.url),
    ]);
  });
  after(async () => {
    await Promise.all([first.close(), second.close()]);
    await database.drop();
  });

  it("a task change committed by one store reaches the other store's subscriber", async () => {
    const received: Received[] = [];
    const unsubscribe = await second.subscribe((channel, payload) =>
      received.push({ channel, payload }),
    );
    try {
      const group = unique("wake");
      const task = await first.createTask(newTask({ machineGroup: group }));
      await driveTo(first, task.id, ["in-queue"]);
      const has = (channel: NotificationChannel, payload: string) => () =>
        received.some((r) => r.channel === channel && r.payload === payload);
      await waitUntil(has("queue", group), `queue ${group}`);
      await waitUntil(has("task", task.id), `task ${task.id}`);
      await first.claimNextTask(group, { id: "m1", host: "h" }, tick(), tick() + 60_000);
      const changes = () => received.filter((r) => r.channel === "task" && r.payload === task.id);
      await waitUntil(() => changes().length >= 3, "the claim (create, queue, claim)");
    } finally {
      await unsubscribe();
    }
  });

  it("a subscriber tells its own store's notifications from another store's, and log notifications pass", async () => {
    const heard: { payload: string; self: boolean; channel: NotificationChannel }[] = [];
    const unsubscribe = await second.subscribe((channel, payload, self) =>
      heard.push({ channel, payload, self }),
    );
    try {
      const mine = await second.createTask(newTask());
      const theirs = await first.createTask(newTask());
      await first.notify("log", `${theirs.id}:stdout`);
      await waitUntil(() => heard.length >= 3, "three notifications");
      assert.deepEqual(
        heard.filter(
          (entry) => entry.payload.startsWith(mine.id) || entry.payload.startsWith(theirs.id),
        ),
        [
          { channel: "task", payload: mine.id, self: true },
          { channel: "task", payload: theirs.id, self: false },
          { channel: "log", payload: `${theirs.id}:stdout`, self: false },
        ],
      );
    } finally {
      await unsubscribe();
    }
  });

  it("a write that fails notifies nobody, and an unsubscribed listener hears nothing more", async () => {
    const received: Received[] = [];
    const unsubscribe = await second.subscribe((channel, payload) =>
      received.push({ channel, payload }),
    );
    const rejected = await first.createTask(newTask());
    const marker = await first.createTask(newTask());
    await waitUntil(() => received.some((r) => r.payload === marker.id), "the marker task");
    received.length = 0;
    await assert.rejects(
      first.transitionTask(rejected.id, { to: "success", at: tick(), reason: "not allowed" }),
    );
    await first.patchTask(marker.id, { reason: "second marker" });
    await waitUntil(() => received.some((r) => r.payload === marker.id), "the second marker");
    assert.deepEqual(received, [{ channel: "task", payload: marker.id }]);
    await unsubscribe();
    await first.patchTask(marker.id, { reason: "after unsubscribe" });
    const sentinel: Received[] = [];
    const stop = await second.subscribe((channel, payload) => sentinel.push({ channel, payload }));
    await first.patchTask(marker.id, { reason: "sentinel" });
    await waitUntil(() => sentinel.length > 0, "the sentinel");
    await stop();
    assert.deepEqual(received, [{ channel: "task", payload: marker.id }]);
  });

  it("concurrent claims from two stores (two pools) hand each of 200 tasks to exactly one claimer", async () => {
    const group = unique("race");
    const queued = new Set<string>();
    for (let i = 0; i < 200; i += 1) queued.add((await queueTask(first, group)).id);
    // Four claim loops per store, all started at once: 8 claimers on 2 pools of 10 connections.
    const loops = [first, second].flatMap((store, s) =>
      Array.from({ length: 4 }, (_, l) => claimUntilEmpty(store, group, `m-${s}-${l}`)),
    );
    const claimed = (await Promise.all(loops)).flat();
    assert.equal(claimed.length, 200, "no task handed out twice, none left behind");
    assert.deepEqual(new Set(claimed), queued);
    assert.equal(await second.countQueued(group), 0);
    for (const id of claimed.slice(0, 20)) {
      const task = await second.getTask(id);
      const claims = task?.statusHistory.filter((entry) => entry.status === "submitted");
      assert.equal(claims?.length, 1, `task ${id} was claimed once`);
    }
  });
});

async function claimUntilEmpty(
  store: PostgresTaskStore,
  group: string,
  machineId: string,
): Promise<string[]> {
  const claimed: string[] = [];
  for (;;) {
    const now = Date.now();
    const task = await store.claimNextTask(group, { id: machineId, host: "h" }, now, now + 60_000);
    if (task === undefined) return claimed;
    claimed.push(task.id);
  }
}
