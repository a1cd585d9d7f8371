import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TaskListView, TaskView } from "../../src/protocol/tasks.js";
import { createGroup, errorOf, json, registerMachine, submit } from "../helpers/protocol.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";

describe("users and isolation", () => {
  let app: TestApp;
  let alice: string;
  let bob: string;
  let bobId: string;
  before(async () => {
    app = await createTestApp();
    const a = await json<{ token: string }>(
      await app.request("POST", "/api/v1/users", { json: { name: "alice" } }),
      201,
    );
    const b = await json<{ token: string; user: { id: string } }>(
      await app.request("POST", "/api/v1/users", { json: { name: "bob" } }),
      201,
    );
    alice = a.token;
    bob = b.token;
    bobId = b.user.id;
  });
  after(async () => app.close());

  it("a user never sees another user's task: it is 404 on every route, never 403", async () => {
    await json(
      await app.request("POST", "/api/v1/machine-groups", {
        token: alice,
        json: { name: "ga", provider: "local", numMachines: 1 },
      }),
      201,
    );
    const task = await json<TaskView>(
      await app.request("POST", "/api/v1/tasks", {
        token: alice,
        json: { simulator: "custom", commands: [["true"]], machineGroup: "ga" },
      }),
      201,
    );
    for (const [method, path] of [
      ["GET", ""],
      ["GET", "/wait?timeoutMs=1"],
      ["GET", "/position"],
      ["POST", "/kill"],
      ["GET", "/outputs"],
      ["GET", "/logs"],
      ["GET", "/files"],
    ] as const) {
      const error = await errorOf(
        await app.request(method, `/api/v1/tasks/${task.id}${path}`, { token: bob }),
        404,
      );
      assert.equal(error.code, "TASK_NOT_FOUND", `${method} ${path}`);
    }
    const bobList = await json<TaskListView>(
      await app.request("GET", "/api/v1/tasks", { token: bob }),
      200,
    );
    assert.equal(bobList.tasks.length, 0);
    const aliceList = await json<TaskListView>(
      await app.request("GET", "/api/v1/tasks", { token: alice }),
      200,
    );
    assert.deepEqual(
      aliceList.tasks.map((t) => t.id),
      [task.id],
    );
    const group = await errorOf(
      await app.request("GET", "/api/v1/machine-groups/ga", { token: bob }),
      404,
    );
    assert.equal(group.code, "MACHINE_GROUP_NOT_FOUND");
    const submitToOthers = await errorOf(
      await app.request("POST", "/api/v1/tasks", {
        token: bob,
        json: { simulator: "custom", commands: [["true"]], machineGroup: "ga" },
      }),
      404,
    );
    assert.equal(submitToOthers.code, "MACHINE_GROUP_NOT_FOUND");
  });

  it("only an admin manages users, and a revoked token stops working at once", async () => {
    assert.equal(
      (await errorOf(await app.request("GET", "/api/v1/users", { token: alice }), 403)).code,
      "FORBIDDEN",
    );
    const users = await json<{ users: { name: string }[] }>(
      await app.request("GET", "/api/v1/users"),
      200,
    );
    assert.deepEqual(users.users.map((u) => u.name).sort(), ["admin", "alice", "bob"]);
    await json(await app.request("DELETE", `/api/v1/users/${bobId}`), 204);
    assert.equal(
      (await errorOf(await app.request("GET", "/api/v1/tasks", { token: bob }), 401)).code,
      "UNAUTHORIZED",
    );
  });

  it("a runner token serves only its own group, and only the tasks leased to its machine", async () => {
    const tokenA = await createGroup(app, "ra");
    await createGroup(app, "rb");
    const refused = await app.request("POST", "/api/v1/runner/register", {
      token: tokenA,
      json: { machineGroup: "rb", host: "h" },
    });
    assert.equal((await errorOf(refused, 403)).code, "FORBIDDEN");
    assert.equal(
      (await errorOf(await app.request("GET", "/api/v1/tasks", { token: tokenA }), 403)).code,
      "FORBIDDEN",
    );
    const one = await registerMachine(app, "ra", tokenA);
    const two = await registerMachine(app, "ra", tokenA);
    const queued = await submit(app, { machineGroup: "ra" });
    await one.claim();
    assert.equal((await errorOf(await two.started(queued.id), 409)).code, "LEASE_LOST");
    assert.equal((await errorOf(await two.log(queued.id, "stdout", "x"), 409)).code, "LEASE_LOST");
  });
});
