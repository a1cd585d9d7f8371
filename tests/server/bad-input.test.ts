import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createGroup, errorOf, json, submit } from "../helpers/protocol.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";

describe("bad input gets a 4xx with a stable code, a message that says what to do, and creates nothing", () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
    await createGroup(app, "g");
  });
  after(async () => app.close());

  const taskCount = async (): Promise<number> =>
    (await json<{ tasks: unknown[] }>(await app.request("GET", "/api/v1/tasks?limit=1000"), 200))
      .tasks.length;

  const cases: { name: string; json: unknown; status: number; code: string; message: RegExp }[] = [
    {
      name: "malformed JSON",
      json: '{"simulator": "custom", "commands": [[',
      status: 400,
      code: "INVALID_INPUT",
      message: /not valid JSON/,
    },
    {
      name: "an empty command",
      json: { simulator: "custom", commands: [[]], machineGroup: "g" },
      status: 400,
      code: "INVALID_INPUT",
      message: /commands\.0: a command must have at least a program name/,
    },
    {
      name: "no commands",
      json: { simulator: "custom", commands: [], machineGroup: "g" },
      status: 400,
      code: "INVALID_INPUT",
      message: /give at least one command/,
    },
    {
      name: "an empty argument",
      json: { simulator: "custom", commands: [["echo", ""]], machineGroup: "g" },
      status: 400,
      code: "INVALID_INPUT",
      message: /must not be empty/,
    },
    {
      name: "a wrong type",
      json: { simulator: "custom", commands: "echo hi", machineGroup: "g" },
      status: 400,
      code: "INVALID_INPUT",
      message: /commands/,
    },
    {
      name: "an unknown field",
      json: { simulator: "custom", commands: [["true"]], machineGroup: "g", colour: "red" },
      status: 400,
      code: "INVALID_INPUT",
      message: /colour/,
    },
    {
      name: "an unknown machine group",
      json: { simulator: "custom", commands: [["true"]], machineGroup: "nope" },
      status: 404,
      code: "MACHINE_GROUP_NOT_FOUND",
      message: /machine group nope not found; start it first/,
    },
    {
      name: "a bad group name",
      json: { simulator: "custom", commands: [["true"]], machineGroup: "../x" },
      status: 400,
      code: "INVALID_INPUT",
      message: /machineGroup/,
    },
  ];
  for (const testCase of cases) {
    it(`rejects ${testCase.name}`, async () => {
      const before = await taskCount();
      const error = await errorOf(
        await app.request("POST", "/api/v1/tasks", { json: testCase.json }),
        testCase.status,
      );
      assert.equal(error.code, testCase.code);
      assert.match(error.message, testCase.message);
      assert.equal(await taskCount(), before, "nothing was created");
    });
  }

  it("a JSON body without the JSON content type is refused with how to send it", async () => {
    const error = await errorOf(
      await app.request("POST", "/api/v1/tasks", {
        json: { simulator: "custom", commands: [["true"]] },
        headers: { "content-type": "text/plain" },
      }),
      400,
    );
    assert.match(error.message, /content-type: application\/json/);
  });

  it("an unknown task id is 404 TASK_NOT_FOUND on every task route", async () => {
    for (const [method, path] of [
      ["GET", ""],
      ["GET", "/wait?timeoutMs=10"],
      ["GET", "/position"],
      ["POST", "/kill"],
      ["GET", "/outputs"],
      ["GET", "/logs"],
    ] as const) {
      const error = await errorOf(
        await app.request(method, `/api/v1/tasks/000000000000000${path}`),
        404,
      );
      assert.equal(error.code, "TASK_NOT_FOUND", `${method} ${path}`);
      assert.match(
        error.message,
        /task 000000000000000 not found; check the id with `flotilla tasks list`/,
      );
    }
  });

  it("a malformed task id is 400, not 404 or 500", async () => {
    const error = await errorOf(await app.request("GET", "/api/v1/tasks/not-an-id!"), 400);
    assert.equal(error.code, "INVALID_INPUT");
  });

  it("a bad cursor, limit or status filter is 400", async () => {
    for (const query of ["cursor=%%%garbage", "limit=0", "limit=abc", "status=completed"]) {
      const error = await errorOf(await app.request("GET", `/api/v1/tasks?${query}`), 400);
      assert.equal(error.code, "INVALID_INPUT", query);
    }
  });

  it("no token and a wrong token are 401 with what to do", async () => {
    const none = await app.request("GET", "/api/v1/tasks", { headers: { authorization: "" } });
    assert.match((await errorOf(none, 401)).message, /Authorization: Bearer/);
    const wrong = await app.request("GET", "/api/v1/tasks", { token: "flt_wrong" });
    assert.equal((await errorOf(wrong, 401)).code, "UNAUTHORIZED");
  });

  it("a hostile input archive ends the task failed with the reason, and the server stays healthy", async () => {
    const { makeInputArchive } = await import("../helpers/protocol.js");
    const created = await json<{ id: string }>(
      await app.request("POST", "/api/v1/tasks", {
        json: { simulator: "custom", commands: [["true"]], machineGroup: "g" },
      }),
      201,
    );
    const bad = Buffer.concat([await makeInputArchive({ "ok.txt": "x" })]).subarray(0, 20);
    const error = await errorOf(
      await app.request("PUT", `/api/v1/tasks/${created.id}/input`, { body: bad }),
      422,
    );
    assert.equal(error.code, "INPUT_REJECTED");
    const task = await json<{ status: string; reason: string }>(
      await app.request("GET", `/api/v1/tasks/${created.id}`),
      200,
    );
    assert.equal(task.status, "failed");
    assert.match(task.reason, /input rejected/);
    assert.equal((await app.request("GET", "/healthz")).status, 200);
  });

  it("a second input upload is refused and keeps the first", async () => {
    const queued = await submit(app, { machineGroup: "g" });
    const error = await errorOf(
      await app.request("PUT", `/api/v1/tasks/${queued.id}/input`, { body: Buffer.from("x") }),
      409,
    );
    assert.equal(error.code, "INPUT_ALREADY_UPLOADED");
  });

  it("an unknown route is a 404 envelope", async () => {
    const error = await errorOf(await app.request("GET", "/api/v1/nothing-here"), 404);
    assert.equal(error.code, "NOT_FOUND");
  });
});
