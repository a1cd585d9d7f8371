import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TaskListView } from "../../src/protocol/tasks.js";
import { createGroup, createTask, json, submit } from "../helpers/protocol.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";

describe("listing tasks", () => {
  let app: TestApp;
  const ids = { a: [] as string[], b: [] as string[], pending: [] as string[] };
  before(async () => {
    app = await createTestApp();
    await createGroup(app, "ga");
    await createGroup(app, "gb");
    for (let i = 0; i < 4; i += 1)
      ids.a.push((await submit(app, { machineGroup: "ga", project: "alpha" })).id);
    for (let i = 0; i < 3; i += 1)
      ids.b.push((await submit(app, { machineGroup: "gb", project: "beta" })).id);
    ids.pending.push((await createTask(app, { machineGroup: "gb", project: "beta" })).id);
  });
  after(async () => app.close());

  const list = async (query: string): Promise<TaskListView> =>
    json<TaskListView>(await app.request("GET", `/api/v1/tasks?${query}`), 200);

  it("lists newest first", async () => {
    const all = await list("limit=100");
    const expected = [...ids.a, ...ids.b, ...ids.pending].reverse();
    assert.deepEqual(
      all.tasks.map((task) => task.id),
      expected,
    );
    assert.equal(all.nextCursor, undefined);
  });

  it("filters by status, several statuses, project and machine group", async () => {
    assert.deepEqual(
      (await list("status=pending-input")).tasks.map((t) => t.id),
      ids.pending,
    );
    assert.equal((await list("status=in-queue&status=pending-input")).tasks.length, 8);
    assert.equal((await list("status=in-queue,pending-input")).tasks.length, 8);
    assert.deepEqual(
      (await list("project=alpha")).tasks.map((t) => t.id),
      [...ids.a].reverse(),
    );
    assert.equal((await list("machineGroup=gb")).tasks.length, 4);
    assert.equal((await list("machineGroup=gb&status=in-queue")).tasks.length, 3);
    assert.equal((await list("status=success")).tasks.length, 0);
  });

  it("pages through more than one page with the cursor, without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await list(
        `limit=3${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      seen.push(...page.tasks.map((task) => task.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids.a, ...ids.b, ...ids.pending].reverse());
  });

  it("pages within a filter", async () => {
    const first = await list("project=alpha&limit=3");
    assert.equal(first.tasks.length, 3);
    assert.ok(first.nextCursor);
    const second = await list(
      `project=alpha&limit=3&cursor=${encodeURIComponent(first.nextCursor)}`,
    );
    assert.deepEqual(
      second.tasks.map((t) => t.id),
      [ids.a[0]],
    );
    assert.equal(second.nextCursor, undefined);
  });

  it("shows the queue position of queued tasks in the record", async () => {
    const task = (await list("project=alpha&limit=1")).tasks[0];
    assert.equal(task?.queuePosition, 3);
  });
});
