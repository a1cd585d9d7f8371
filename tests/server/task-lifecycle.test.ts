import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { INLINE_INPUT_MAX_BYTES, type FinishResponse } from "../../src/protocol/runner.js";
import {
  INLINE_SUBMIT_INPUT_MAX_BYTES,
  type KillView,
  type TaskView,
} from "../../src/protocol/tasks.js";
import { reapExpiredLeases, retryOrFail } from "../../src/services/reap-lost-machines.js";
import {
  createGroup,
  errorOf,
  json,
  makeInputArchive,
  registerMachine,
  submit,
  type FakeMachine,
} from "../helpers/protocol.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";

const statuses = (task: TaskView): string[] => task.statusHistory.map((entry) => entry.status);

/** The ended task of a finish answer. */
async function finishedTask(response: Response, status: number): Promise<TaskView> {
  return (await json<FinishResponse>(response, status)).task;
}

describe("task lifecycle through the runner protocol", () => {
  let app: TestApp;
  let machine: FakeMachine;
  before(async () => {
    app = await createTestApp();
    const token = await createGroup(app, "g1");
    machine = await registerMachine(app, "g1", token);
  });
  after(async () => app.close());

  it("a task that exits 0 goes pending-input → in-queue → submitted → started → success with every phase timed", async () => {
    const queued = await submit(app, { machineGroup: "g1", project: "p" }, { "a.txt": "hello" });
    assert.equal(queued.status, "in-queue");
    assert.equal(queued.metrics.inputFiles, 1);
    const claimed = await machine.claim();
    assert.equal(claimed?.id, queued.id);
    assert.equal(claimed?.status, "submitted");
    await json(await machine.started(queued.id), 200);
    await json(await machine.log(queued.id, "stdout", "line 1\n"), 204);
    const manifest = await json<{ files: { path: string }[] }>(
      await machine.uploadOutputs(queued.id, { "out.txt": "result" }),
      200,
    );
    assert.deepEqual(
      manifest.files.map((file) => file.path),
      ["out.txt"],
    );
    const done = await finishedTask(
      await machine.finish(queued.id, {
        outcome: "exited",
        exitCode: 0,
        computationMs: 12,
        outputUploadMs: 3,
      }),
      200,
    );
    assert.equal(done.status, "success");
    assert.deepEqual(statuses(done), [
      "pending-input",
      "in-queue",
      "submitted",
      "started",
      "success",
    ]);
    assert.equal(done.exitCode, 0);
    for (const key of [
      "inputUploadMs",
      "queueMs",
      "inputDownloadMs",
      "computationMs",
      "outputUploadMs",
      "totalMs",
    ] as const) {
      assert.equal(typeof done.metrics[key], "number", `${key} is recorded`);
    }
    assert.equal(done.metrics.outputFiles, 1);
    for (const entry of done.statusHistory)
      assert.ok(entry.reason.length > 0 && !Number.isNaN(Date.parse(entry.at)));
    const logs = await app.request("GET", `/api/v1/tasks/${queued.id}/logs`);
    assert.equal(await logs.text(), "line 1\n");
  });

  it("a runner without outputs skips the upload: finish with an empty manifest stores empty outputs, replacing earlier ones", async () => {
    const outputsOf = async (id: string) =>
      json<{ files: unknown[]; totalBytes: number }>(
        await app.request("GET", `/api/v1/tasks/${id}/outputs`),
        200,
      );
    const plain = await submit(app, { machineGroup: "g1" });
    await machine.claim();
    await json(await machine.started(plain.id), 200);
    const done = await finishedTask(
      await machine.finish(plain.id, { outcome: "exited", exitCode: 0, manifest: [] }),
      200,
    );
    assert.equal(done.status, "success");
    assert.equal(done.metrics.outputFiles, 0);
    assert.deepEqual(await outputsOf(plain.id), { taskId: plain.id, files: [], totalBytes: 0 });
    const archive = await app.request("GET", `/api/v1/tasks/${plain.id}/outputs/archive`);
    assert.equal(archive.status, 200);
    await archive.arrayBuffer();

    // Outputs left by an earlier upload (an attempt that did not finish) do not survive.
    const again = await submit(app, { machineGroup: "g1" });
    await machine.claim();
    await json(await machine.started(again.id), 200);
    await json(await machine.uploadOutputs(again.id, { "stale.txt": "old" }), 200);
    const replaced = await finishedTask(
      await machine.finish(again.id, { outcome: "exited", exitCode: 0, manifest: [] }),
      200,
    );
    assert.equal(replaced.status, "success");
    assert.deepEqual((await outputsOf(again.id)).files, []);
  });

  it("a small input sent with POST /tasks queues the task in one request; a bad one fails it", async () => {
    const archive = await makeInputArchive({ "a.txt": "hello", "b/c.txt": "more" });
    const queued = await json<TaskView>(
      await app.request("POST", "/api/v1/tasks", {
        json: {
          simulator: "custom",
          commands: [["true"]],
          machineGroup: "g1",
          input: archive.toString("base64"),
        },
      }),
      201,
    );
    assert.equal(queued.status, "in-queue");
    assert.equal(queued.metrics.inputFiles, 2);
    assert.deepEqual(statuses(queued), ["pending-input", "in-queue"]);
    assert.equal((await machine.claim())?.id, queued.id);
    await json(await machine.finish(queued.id, { outcome: "error", reason: "test: not run" }), 200);

    const bad = await errorOf(
      await app.request("POST", "/api/v1/tasks", {
        json: {
          simulator: "custom",
          commands: [["true"]],
          machineGroup: "g1",
          input: Buffer.from("not an archive").toString("base64"),
        },
      }),
      422,
    );
    assert.equal(bad.code, "INPUT_REJECTED");
    const rejected = await json<TaskView>(
      await app.request(
        "GET",
        `/api/v1/tasks/${String((bad as { details?: { taskId?: string } }).details?.taskId)}`,
      ),
      200,
    );
    assert.equal(rejected.status, "failed");
    const tooLarge = await errorOf(
      await app.request("POST", "/api/v1/tasks", {
        json: {
          simulator: "custom",
          commands: [["true"]],
          machineGroup: "g1",
          input: "A".repeat(INLINE_SUBMIT_INPUT_MAX_BYTES * 2),
        },
      }),
      400,
    );
    assert.equal(tooLarge.code, "INVALID_INPUT");
    assert.match(tooLarge.message, /PUT \/input/);
    assert.equal(await machine.claim(), undefined, "nothing else was queued");
  });

  it("a small input comes with the claim answer; a large one is left to GET /input", async () => {
    const claimAnswer = async () =>
      json<{ task: TaskView; input?: string }>(
        await machine.call("POST", "/claim", { machineId: machine.id, waitMs: 0 }),
        200,
      );
    const small = await submit(app, { machineGroup: "g1" }, { "a.txt": "hello" });
    const first = await claimAnswer();
    assert.equal(first.task.id, small.id);
    const download = await machine.call("GET", `/tasks/${small.id}/input?machineId=${machine.id}`);
    const stored = Buffer.from(await download.arrayBuffer());
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(first.input ?? "", "base64"), stored);
    await json(await machine.finish(small.id, { outcome: "error", reason: "test: not run" }), 200);

    // Random bytes do not compress: the archive is larger than INLINE_INPUT_MAX_BYTES.
    const noise = randomBytes(INLINE_INPUT_MAX_BYTES).toString("base64");
    const large = await submit(app, { machineGroup: "g1" }, { "big.txt": noise });
    const second = await claimAnswer();
    assert.equal(second.task.id, large.id);
    assert.equal(second.input, undefined);
    await json(await machine.finish(large.id, { outcome: "error", reason: "test: not run" }), 200);
  });

  it("a non-zero exit ends failed with the exit code and the tail of stderr in reason", async () => {
    const queued = await submit(app, { machineGroup: "g1" });
    await machine.claim();
    await json(await machine.started(queued.id), 200);
    const done = await finishedTask(
      await machine.finish(queued.id, {
        outcome: "exited",
        exitCode: 3,
        reason: "Traceback\nValueError: bad mesh\n",
      }),
      200,
    );
    assert.equal(done.status, "failed");
    assert.equal(done.exitCode, 3);
    assert.match(done.reason ?? "", /exit code 3/);
    assert.match(done.reason ?? "", /ValueError: bad mesh/);
  });

  it("a runner error (input could not be unpacked) ends failed with its reason", async () => {
    const queued = await submit(app, { machineGroup: "g1" });
    await machine.claim();
    const done = await finishedTask(
      await machine.finish(queued.id, {
        outcome: "error",
        reason: "command not found: nosuchprog",
        exitCode: 127,
      }),
      200,
    );
    assert.equal(done.status, "failed");
    assert.match(done.reason ?? "", /command not found/);
  });

  it("a finished task cannot be finished again by its old machine", async () => {
    const queued = await submit(app, { machineGroup: "g1" });
    await machine.claim();
    await json(await machine.started(queued.id), 200);
    await json(await machine.finish(queued.id, { outcome: "exited", exitCode: 0 }), 200);
    const again = await errorOf(
      await machine.finish(queued.id, { outcome: "exited", exitCode: 1 }),
      409,
    );
    assert.equal(again.code, "LEASE_LOST");
  });
});

describe("kill", () => {
  let app: TestApp;
  let machine: FakeMachine;
  before(async () => {
    app = await createTestApp();
    machine = await registerMachine(app, "k", await createGroup(app, "k"));
  });
  after(async () => app.close());

  const kill = async (id: string, status = 200): Promise<KillView> =>
    json<KillView>(await app.request("POST", `/api/v1/tasks/${id}/kill`), status);

  it("kill in pending-input ends it killed at once", async () => {
    const created = await json<TaskView>(
      await app.request("POST", "/api/v1/tasks", {
        json: { simulator: "custom", commands: [["true"]], machineGroup: "k" },
      }),
      201,
    );
    const killed = await kill(created.id);
    assert.equal(killed.result, "killed");
    assert.equal(killed.task.status, "killed");
  });

  it("kill on a queued task marks it killed and it is never dispatched", async () => {
    const queued = await submit(app, { machineGroup: "k" });
    assert.equal((await kill(queued.id)).task.status, "killed");
    assert.equal(await machine.claim(), undefined);
  });

  it("kill in submitted: a started report that crosses it is recorded, and the machine's confirmation ends it killed", async () => {
    const queued = await submit(app, { machineGroup: "k" });
    await machine.claim();
    const requested = await kill(queued.id);
    assert.equal(requested.result, "kill-requested");
    assert.equal(requested.task.status, "submitted");
    const control = await json<{ messages: { type: string; taskId: string }[] }>(
      await machine.call("GET", `/control?machineId=${machine.id}&waitMs=0`),
      200,
    );
    assert.deepEqual(
      control.messages.map(({ type, taskId }) => [type, taskId]),
      [["kill", queued.id]],
      "the kill is on its way to the machine",
    );
    // The commands had started when the kill came (started is reported after they start).
    const started = await json<TaskView>(await machine.started(queued.id), 200);
    assert.equal(started.status, "started");
    assert.ok(started.killRequestedAt, "the kill stays requested");
    await json(await machine.uploadOutputs(queued.id, { "partial.csv": "1,2\n" }), 200);
    const manifest = [
      {
        path: "partial.csv",
        size: 4,
        sha256: createHash("sha256").update("1,2\n").digest("hex"),
      },
    ];
    await json(await machine.finish(queued.id, { outcome: "killed", manifest }), 200);
    const after = await json<TaskView>(await app.request("GET", `/api/v1/tasks/${queued.id}`), 200);
    assert.equal(after.status, "killed");
    assert.equal(after.metrics.outputFiles, 1, "with what the commands wrote");
  });

  it("kill in started reaches the machine on its control channel and ends killed when it confirms", async () => {
    const queued = await submit(app, { machineGroup: "k" });
    await machine.claim();
    await json(await machine.started(queued.id), 200);
    const requested = await kill(queued.id);
    assert.equal(requested.result, "kill-requested");
    assert.ok(requested.task.killRequestedAt);
    const control = await json<{ messages: { type: string; taskId: string }[] }>(
      await machine.call("GET", `/control?machineId=${machine.id}&waitMs=0`),
      200,
    );
    // (a kill of an earlier task may still sit in the queue: runners ignore kills for other tasks)
    assert.deepEqual(
      control.messages.filter((m) => m.taskId === queued.id).map((m) => m.type),
      ["kill"],
    );
    assert.equal(
      (await kill(queued.id)).result,
      "kill-requested",
      "a second kill is the same request",
    );
    const done = await finishedTask(
      await machine.finish(queued.id, { outcome: "killed", signal: "SIGTERM" }),
      200,
    );
    assert.equal(done.status, "killed");
    assert.equal((await kill(queued.id)).result, "killed", "kill of a killed task is idempotent");
  });

  it("kill of a finished task is a clear no-op error", async () => {
    const queued = await submit(app, { machineGroup: "k" });
    await machine.claim();
    await json(await machine.started(queued.id), 200);
    await json(await machine.finish(queued.id, { outcome: "exited", exitCode: 0 }), 200);
    const error = await errorOf(await app.request("POST", `/api/v1/tasks/${queued.id}/kill`), 409);
    assert.equal(error.code, "TASK_ALREADY_FINISHED");
    assert.equal(error.message, `task ${queued.id} is already success; nothing to kill`);
  });
});

describe("waiting and the queue", () => {
  let app: TestApp;
  let machine: FakeMachine;
  before(async () => {
    app = await createTestApp();
    machine = await registerMachine(app, "w", await createGroup(app, "w"));
  });
  after(async () => app.close());

  it("wait on an already finished task returns at once", async () => {
    const queued = await submit(app, { machineGroup: "w" });
    await machine.claim();
    await json(await machine.finish(queued.id, { outcome: "error", reason: "x" }), 200);
    const started = Date.now();
    const waited = await json<TaskView>(
      await app.request("GET", `/api/v1/tasks/${queued.id}/wait?timeoutMs=60000`),
      200,
    );
    assert.equal(waited.status, "failed");
    assert.ok(Date.now() - started < 5_000, "it did not sit out the long poll");
  });

  it("a waiting long poll is woken by the task's end", async () => {
    const queued = await submit(app, { machineGroup: "w" });
    const waiting = app.request("GET", `/api/v1/tasks/${queued.id}/wait?timeoutMs=60000`);
    await machine.claim();
    await json(await machine.started(queued.id), 200);
    await json(await machine.finish(queued.id, { outcome: "exited", exitCode: 0 }), 200);
    assert.equal((await json<TaskView>(await waiting, 200)).status, "success");
  });

  it("wait with the known status answers at the next status change, so callers can follow every step", async () => {
    const queued = await submit(app, { machineGroup: "w" });
    const waiting = app.request(
      "GET",
      `/api/v1/tasks/${queued.id}/wait?timeoutMs=60000&status=in-queue`,
    );
    await machine.claim();
    assert.equal((await json<TaskView>(await waiting, 200)).status, "submitted");
    const next = app.request(
      "GET",
      `/api/v1/tasks/${queued.id}/wait?timeoutMs=60000&status=submitted`,
    );
    await json(await machine.started(queued.id), 200);
    assert.equal((await json<TaskView>(await next, 200)).status, "started");
    await json(await machine.finish(queued.id, { outcome: "exited", exitCode: 0 }), 200);
  });

  it("wait that times out returns the task as it is", async () => {
    const queued = await submit(app, { machineGroup: "w" });
    const waited = await json<TaskView>(
      await app.request("GET", `/api/v1/tasks/${queued.id}/wait?timeoutMs=50`),
      200,
    );
    assert.equal(waited.status, "in-queue");
    assert.equal(waited.isTerminal, false);
    await machine.claim();
    await json(await machine.finish(queued.id, { outcome: "error", reason: "cleanup" }), 200);
  });

  it("queue position counts down as tasks ahead leave the queue, and is null once it left", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await submit(app, { machineGroup: "w" })).id);
    const position = async (id: string): Promise<number | null> =>
      (
        await json<{ queuePosition: number | null }>(
          await app.request("GET", `/api/v1/tasks/${id}/position`),
          200,
        )
      ).queuePosition;
    const last = ids[2]!;
    assert.equal(await position(last), 2);
    for (const expected of [1, 0]) {
      const claimed = await machine.claim();
      assert.ok(claimed);
      await json(await machine.finish(claimed.id, { outcome: "error", reason: "done" }), 200);
      assert.equal(await position(last), expected);
    }
    await machine.claim();
    assert.equal(await position(last), null);
    await json(await machine.finish(last, { outcome: "error", reason: "done" }), 200);
  });

  it("a claim long poll is woken by a submission", async () => {
    const claiming = machine.claim(30_000);
    const queued = await submit(app, { machineGroup: "w" });
    assert.equal((await claiming)?.id, queued.id);
    await json(await machine.finish(queued.id, { outcome: "error", reason: "done" }), 200);
  });
});

describe("lost machines", () => {
  it("a task whose lease expires goes back to the queue with attempt + 1, then fails after the last attempt", async () => {
    const app = await createTestApp({ leaseMs: 1, maxAttempts: 2 });
    try {
      const machine = await registerMachine(app, "l", await createGroup(app, "l"));
      const queued = await submit(app, { machineGroup: "l" });
      await machine.claim();
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(await reapExpiredLeases(app.deps), 1);
      let task = await json<TaskView>(await app.request("GET", `/api/v1/tasks/${queued.id}`), 200);
      assert.equal(task.status, "in-queue");
      assert.equal(task.attempt, 2);
      assert.equal(task.statusHistory.at(-1)?.detail, "machine-lost");
      await machine.claim();
      await new Promise((resolve) => setTimeout(resolve, 5));
      await reapExpiredLeases(app.deps);
      task = await json<TaskView>(await app.request("GET", `/api/v1/tasks/${queued.id}`), 200);
      assert.equal(task.status, "failed");
      assert.match(task.reason ?? "", /machine lost/);
      const late = await errorOf(
        await machine.finish(queued.id, { outcome: "exited", exitCode: 0 }),
        409,
      );
      assert.equal(
        late.code,
        "LEASE_LOST",
        "a machine that lost its lease cannot overwrite the task",
      );
    } finally {
      await app.close();
    }
  });

  it("a sweep that saw a lease expire does not requeue the task once it runs again elsewhere (two servers' sweeps)", async () => {
    const app = await createTestApp({ leaseMs: 1, maxAttempts: 3 });
    try {
      const token = await createGroup(app, "aba");
      const first = await registerMachine(app, "aba", token);
      const queued = await submit(app, { machineGroup: "aba" });
      await first.claim();
      await new Promise((resolve) => setTimeout(resolve, 5));
      // What a second server's sweep read, before the first sweep requeued the task.
      const [stale] = await app.deps.store.listExpiredLeases(Date.now());
      assert.equal(stale?.id, queued.id);
      assert.equal(await reapExpiredLeases(app.deps), 1);
      const second = await registerMachine(app, "aba", token);
      assert.equal((await second.claim())?.id, queued.id);
      await assert.rejects(retryOrFail(app.deps, stale, "stale sweep"), { code: "LEASE_LOST" });
      const task = await json<TaskView>(
        await app.request("GET", `/api/v1/tasks/${queued.id}`),
        200,
      );
      assert.equal(task.status, "submitted");
      assert.equal(task.machine?.id, second.id);
      assert.equal(task.attempt, 2, "requeued once, not twice");
    } finally {
      await app.close();
    }
  });
});

describe("fewer requests per task: started folded into finish, the next task in the finish answer", () => {
  let app: TestApp;
  let machine: FakeMachine;
  before(async () => {
    app = await createTestApp();
    machine = await registerMachine(app, "busy", await createGroup(app, "busy"));
  });
  after(async () => app.close());
  const FOLDED = { inputDownloadMs: 1, startedMsAgo: 1 };

  it("a finish that carries the started report records started (when the commands started), then the end", async () => {
    const queued = await submit(app, { machineGroup: "busy" });
    const claimed = await machine.claim();
    assert.equal(claimed?.id, queued.id);
    const done = await finishedTask(
      await machine.finish(queued.id, {
        outcome: "exited",
        exitCode: 0,
        manifest: [],
        started: { inputDownloadMs: 4, inputFiles: 1, startedMsAgo: 3 },
      }),
      200,
    );
    assert.equal(done.status, "success");
    assert.deepEqual(statuses(done), [
      "pending-input",
      "in-queue",
      "submitted",
      "started",
      "success",
    ]);
    const startedAt = Date.parse(done.startedAt ?? "");
    const endedAt = Date.parse(done.endedAt ?? "");
    assert.ok(
      startedAt <= endedAt && endedAt - startedAt <= 3 + 1_000,
      `${startedAt} → ${endedAt}`,
    );
    assert.equal(done.metrics.inputDownloadMs, 4);
  });

  it("a folded report of a task already started is ignored, and the start time stays", async () => {
    const queued = await submit(app, { machineGroup: "busy" });
    await machine.claim();
    const started = await json<TaskView>(await machine.started(queued.id), 200);
    const done = await finishedTask(
      await machine.finish(queued.id, {
        outcome: "exited",
        exitCode: 0,
        started: { inputDownloadMs: 9, startedMsAgo: 60_000 },
      }),
      200,
    );
    assert.equal(done.startedAt, started.startedAt);
    assert.equal(statuses(done).filter((status) => status === "started").length, 1);
  });

  it("finish with claimNext answers with the next queued task and its small input; the machine runs it", async () => {
    const first = await submit(app, { machineGroup: "busy" });
    const second = await submit(app, { machineGroup: "busy" }, { "next.txt": "second" });
    assert.equal((await machine.claim())?.id, first.id);
    const answer = await json<FinishResponse>(
      await machine.finish(first.id, {
        outcome: "exited",
        exitCode: 0,
        started: FOLDED,
        claimNext: true,
      }),
      200,
    );
    assert.equal(answer.task.id, first.id);
    assert.equal(answer.task.status, "success");
    assert.equal(answer.next?.task.id, second.id);
    assert.equal(answer.next.task.status, "submitted");
    assert.ok(answer.next.input !== undefined, "a small input comes along");
    const machines = await json<{ machines: { id: string; taskId?: string }[] }>(
      await app.request("GET", "/api/v1/machine-groups/busy"),
      200,
    );
    assert.equal(machines.machines.find((m) => m.id === machine.id)?.taskId, second.id);
    const last = await json<FinishResponse>(
      await machine.finish(second.id, {
        outcome: "exited",
        exitCode: 0,
        started: FOLDED,
        claimNext: true,
      }),
      200,
    );
    assert.equal(last.next, undefined, "nothing left to claim: no next");
  });

  it("finish without claimNext leaves the queue alone", async () => {
    const first = await submit(app, { machineGroup: "busy" });
    const second = await submit(app, { machineGroup: "busy" });
    await machine.claim();
    const answer = await json<FinishResponse>(
      await machine.finish(first.id, { outcome: "exited", exitCode: 0, started: FOLDED }),
      200,
    );
    assert.equal(answer.next, undefined);
    const still = await json<TaskView>(await app.request("GET", `/api/v1/tasks/${second.id}`), 200);
    assert.equal(still.status, "in-queue");
    assert.equal((await machine.claim())?.id, second.id);
    await json(
      await machine.finish(second.id, { outcome: "exited", exitCode: 0, started: FOLDED }),
      200,
    );
  });

  it("a claim from a machine that holds an unstarted task gives that task again (its answer was lost)", async () => {
    const lost = await submit(app, { machineGroup: "busy" });
    const other = await submit(app, { machineGroup: "busy" });
    const first = await machine.claim();
    assert.equal(first?.id, lost.id);
    const again = await machine.claim();
    assert.equal(again?.id, lost.id, "the same task, not the next one");
    assert.equal(again.attempt, 1);
    assert.deepEqual(statuses(again), ["pending-input", "in-queue", "submitted"]);
    await json(
      await machine.finish(lost.id, { outcome: "exited", exitCode: 0, started: FOLDED }),
      200,
    );
    assert.equal((await machine.claim())?.id, other.id);
    await json(
      await machine.finish(other.id, { outcome: "exited", exitCode: 0, started: FOLDED }),
      200,
    );
  });
});
