import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createGroup,
  json,
  registerMachine,
  submit,
  type FakeMachine,
} from "../helpers/protocol.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";

async function readUntilEnd(
  response: Response,
  onChunk: (text: string) => Promise<void> | void,
): Promise<string> {
  assert.ok(response.body);
  const decoder = new TextDecoder();
  let all = "";
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true });
    all += text;
    await onChunk(all);
  }
  return all;
}

describe("streams: logs and events", () => {
  let app: TestApp;
  let machine: FakeMachine;
  before(async () => {
    app = await createTestApp();
    machine = await registerMachine(app, "s", await createGroup(app, "s"));
  });
  after(async () => app.close());

  it("logs with follow stream what is written while the task runs, in order, and end when it ends", async () => {
    const queued = await submit(app, { machineGroup: "s" });
    const following = await app.request("GET", `/api/v1/tasks/${queued.id}/logs?follow=1`);
    assert.equal(following.status, 200);
    await machine.claim();
    await json(await machine.started(queued.id), 200);
    await json(await machine.log(queued.id, "stdout", "one\n"), 204);
    let step = 0;
    const text = await readUntilEnd(following, async (soFar) => {
      if (step === 0 && soFar.includes("one\n")) {
        step = 1;
        await json(await machine.log(queued.id, "stdout", "two\n"), 204);
      } else if (step === 1 && soFar.includes("two\n")) {
        step = 2;
        await json(await machine.finish(queued.id, { outcome: "exited", exitCode: 0 }), 200);
      }
    });
    assert.equal(text, "one\ntwo\n");
    const stderr = await app.request("GET", `/api/v1/tasks/${queued.id}/logs?stream=stderr`);
    assert.equal(await stderr.text(), "");
    const fromOffset = await app.request("GET", `/api/v1/tasks/${queued.id}/logs?offset=4`);
    assert.equal(await fromOffset.text(), "two\n");
  });

  it("events send each status change as it happens and close after the terminal one", async () => {
    const queued = await submit(app, { machineGroup: "s" });
    const events = await app.request("GET", `/api/v1/tasks/${queued.id}/events`);
    assert.equal(events.headers.get("content-type"), "text/event-stream");
    let driven = 0;
    const text = await readUntilEnd(events, async (soFar) => {
      const statuses = [...soFar.matchAll(/"status":"([a-z-]+)","isTerminal"/g)].map((m) => m[1]);
      if (driven === 0 && statuses.includes("in-queue")) {
        driven = 1;
        await machine.claim();
      } else if (driven === 1 && statuses.includes("submitted")) {
        driven = 2;
        await json(await machine.started(queued.id), 200);
      } else if (driven === 2 && statuses.includes("started")) {
        driven = 3;
        await json(
          await machine.finish(queued.id, { outcome: "exited", exitCode: 1, reason: "boom" }),
          200,
        );
      }
    });
    const statuses = [
      ...text.matchAll(/event: status\ndata: \{.*?"status":"([a-z-]+)","isTerminal"/g),
    ].map((m) => m[1]);
    assert.deepEqual(statuses, ["in-queue", "submitted", "started", "failed"]);
  });
});
