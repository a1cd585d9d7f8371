import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidInputError } from "../../src/domain/errors.js";
import type { TaskStatus } from "../../src/domain/task-status.js";
import { tasks } from "../../src/sdk/tasks.js";
import { closedPortClient, sendJson, startRecordingServer, taskView } from "./helpers.js";

/** A server holding `count` tasks, newest first, paged with a numeric cursor. */
async function serverWithTasks(count: number) {
  const ids = Array.from({ length: count }, (_, i) => `task${String(count - i).padStart(11, "0")}`);
  return startRecordingServer((request, response) => {
    if (request.path.endsWith("/tasks") && request.method === "GET") {
      const start = Number(request.query.get("cursor") ?? "0");
      const limit = Number(request.query.get("limit") ?? "50");
      const page = ids.slice(start, start + limit).map((id) => taskView({ id }));
      const next = start + limit < ids.length ? { nextCursor: String(start + limit) } : {};
      sendJson(response, 200, { tasks: page, ...next });
    } else {
      sendJson(response, 200, taskView({ id: request.path.split("/").pop()!, status: "started" }));
    }
  });
}

describe("tasks.get", () => {
  it("rejects lastN < 1 before any request", async () => {
    const client = await closedPortClient();
    for (const lastN of [0, -1, 2.5]) {
      await assert.rejects(
        tasks.get({ lastN, client }),
        (error: unknown) =>
          error instanceof InvalidInputError && /^lastN must be >= 1/.test(error.message),
      );
    }
  });

  it("rejects an unknown status, hinting that completed is success", async () => {
    const client = await closedPortClient();
    await assert.rejects(
      tasks.get({ status: "completed" as TaskStatus, client }),
      /unknown task status "completed" \(a task that ended well is "success"\); use one of: pending-input, in-queue/,
    );
    assert.throws(
      () => tasks.getAll({ status: ["success", "done"] as unknown as TaskStatus[], client }),
      /unknown task status "done"/,
    );
  });

  it("returns the lastN newest tasks as handles, sending the filters", async () => {
    const server = await serverWithTasks(12);
    try {
      const found = await tasks.get({
        client: server.client,
        status: ["success", "failed"],
        project: "p",
        machineGroup: "g",
      });
      assert.equal(found.length, 5);
      assert.equal(found[0]!.id, "task00000000012");
      const query = server.requests[0]!.query;
      assert.deepEqual(query.getAll("status"), ["success", "failed"]);
      assert.equal(query.get("project"), "p");
      assert.equal(query.get("machineGroup"), "g");
      assert.equal(query.get("limit"), "5");
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe("tasks.getAll and tasks.getTasks", () => {
  it("getAll fetches pages of 500 lazily, following the cursor", async () => {
    const server = await serverWithTasks(1_203);
    try {
      const iterator = tasks
        .getAll({ client: server.client, status: "success" })
        [Symbol.asyncIterator]();
      assert.equal(server.requests.length, 0, "nothing is fetched before iterating");
      await iterator.next();
      assert.equal(server.requests.length, 1);
      let count = 1;
      while (!(await iterator.next()).done) count++;
      assert.equal(count, 1_203);
      assert.deepEqual(
        server.requests.map((request) => request.query.get("limit")),
        ["500", "500", "500"],
      );
      assert.deepEqual(
        server.requests.map((request) => request.query.get("cursor")),
        [null, "500", "1000"],
      );
    } finally {
      await server.close();
    }
  });

  it("getTasks returns all tasks for lastN <= 0 and the lastN newest otherwise (default 10)", async () => {
    const server = await serverWithTasks(23);
    try {
      assert.equal((await tasks.getTasks({ client: server.client, lastN: 0 })).length, 23);
      assert.equal((await tasks.getTasks({ client: server.client })).length, 10);
      assert.equal((await tasks.getTasks({ client: server.client, lastN: 2 })).length, 2);
    } finally {
      await server.close();
    }
  });

  it("getTask returns a handle with the task's current record", async () => {
    const server = await serverWithTasks(0);
    try {
      const task = await tasks.getTask("0lx3k9v2a7b4c1d", { client: server.client });
      assert.equal(task.id, "0lx3k9v2a7b4c1d");
      assert.equal(task.status, "started");
    } finally {
      await server.close();
    }
  });
});
