import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MachineGroupView } from "../../src/protocol/machine-groups.js";
import { Flotilla, getTaskById } from "../../src/sdk/index.js";
import { clientFor, getTask, kill, startGroup, submitDir, waitFor } from "../helpers/http.js";
import { eventually, isAlive, startRealServer, type RealServer } from "../helpers/real-server.js";

describe("kill on real runners", () => {
  let server: RealServer;
  let inputDir: string;
  before(async () => {
    server = await startRealServer();
    inputDir = await mkdtemp(join(tmpdir(), "flotilla-kill-"));
    await writeFile(join(inputDir, "case.txt"), "x");
  });
  after(async () => {
    await server.close();
    await rm(inputDir, { recursive: true, force: true });
  });

  it("kill in started: SIGTERM to the process group, SIGKILL after the grace, and every process is gone", async () => {
    const http = clientFor(server);
    await startGroup(http, "kill", 1);
    const pidFile = join(inputDir, "pids.txt");
    // Two background children plus a leader that ignores SIGTERM: only SIGKILL ends it.
    const script = `trap '' TERM; sleep 300 & p1=$!; sleep 300 & p2=$!; echo "$$ $p1 $p2" > ${pidFile}; echo started; wait`;
    const task = await submitDir(http, inputDir, {
      commands: [["sh", "-c", script]],
      machineGroup: "kill",
      killGraceMs: 300,
    });
    await eventually(
      async () => ((await getTask(http, task.id)).status === "started" ? true : undefined),
      30_000,
      "started",
    );
    const pids = (
      await eventually(
        async () => (await readFile(pidFile, "utf8").catch(() => "")).trim() || undefined,
        15_000,
        "pid file",
      )
    )
      .split(" ")
      .map(Number);
    assert.equal(pids.length, 3);
    for (const pid of pids) assert.ok(isAlive(pid), `process ${pid} runs before the kill`);
    const requested = await kill(http, task.id);
    assert.equal(requested.result, "kill-requested");
    const done = await waitFor(http, task.id, 30_000);
    assert.equal(done.status, "killed");
    for (const pid of pids)
      assert.equal(isAlive(pid), false, `process ${pid} is gone after the kill`);
    assert.ok(done.statusHistory.some((entry) => entry.status === "killed"));
  });

  it("a running task killed by its user keeps what it wrote: the outputs are stored and downloadable", async () => {
    const http = clientFor(server);
    await startGroup(http, "kill-keeps", 1);
    const marker = join(inputDir, "kill-keeps-up");
    const script = `mkdir -p out; echo 'step,energy' > out/log.csv; echo 1,-3.2 >> out/log.csv; echo up > ${marker}; sleep 300`;
    const task = await submitDir(http, inputDir, {
      commands: [["sh", "-c", script]],
      machineGroup: "kill-keeps",
      killGraceMs: 300,
    });
    const client = new Flotilla({ url: server.url, token: server.token });
    await eventually(
      async () => (await readFile(marker, "utf8").catch(() => "")).includes("up") || undefined,
      30_000,
      "the command to have written its file",
    );
    assert.equal((await kill(http, task.id)).result, "kill-requested");
    const done = await waitFor(http, task.id, 30_000);
    assert.equal(done.status, "killed");
    assert.equal(done.metrics.outputFiles, 1, JSON.stringify(done, null, 1));
    const manifest = await client.getOutputManifest(task.id);
    assert.deepEqual(
      manifest.files.map((file) => file.path),
      ["out/log.csv"],
    );
    const target = await mkdtemp(join(tmpdir(), "flotilla-kill-out-"));
    try {
      await (await getTaskById(task.id, { client })).downloadOutputs(target);
      assert.equal(await readFile(join(target, "out", "log.csv"), "utf8"), "step,energy\n1,-3.2\n");
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });

  it("a killed queued task never runs, and the machine goes on to the next task", async () => {
    const http = clientFor(server);
    await startGroup(http, "queue", 1);
    const marker = join(inputDir, "ran-marker");
    const blocker = await submitDir(http, inputDir, {
      commands: [["sleep", "1"]],
      machineGroup: "queue",
    });
    const victim = await submitDir(http, inputDir, {
      commands: [["touch", marker]],
      machineGroup: "queue",
    });
    const next = await submitDir(http, inputDir, { commands: [["true"]], machineGroup: "queue" });
    assert.equal((await kill(http, victim.id)).task.status, "killed");
    assert.equal((await waitFor(http, blocker.id)).status, "success");
    assert.equal((await waitFor(http, next.id)).status, "success");
    assert.equal((await getTask(http, victim.id)).status, "killed");
    await assert.rejects(readFile(marker), "the killed task's command never ran");
  });

  it("terminating a group kills its running and queued tasks and stops its machines", async () => {
    const http = clientFor(server);
    await startGroup(http, "doomed", 1);
    const running = await submitDir(http, inputDir, {
      commands: [["sleep", "300"]],
      machineGroup: "doomed",
      killGraceMs: 500,
    });
    const queued = await submitDir(http, inputDir, {
      commands: [["true"]],
      machineGroup: "doomed",
    });
    await eventually(
      async () => ((await getTask(http, running.id)).status === "started" ? true : undefined),
      30_000,
      "started",
    );
    const before = await http.json(MachineGroupView, "/machine-groups/doomed");
    const pids = before.machines
      .map((machine) => machine.pid)
      .filter((pid): pid is number => pid !== undefined);
    assert.equal(pids.length, 1);
    const after = await http.json(MachineGroupView, "/machine-groups/doomed", { method: "DELETE" });
    assert.equal(after.status, "terminated");
    for (const id of [running.id, queued.id]) {
      const task = await getTask(http, id);
      assert.equal(task.status, "killed", id);
      assert.match(task.reason ?? "", /machine group doomed was terminated/);
    }
    await eventually(
      () => (pids.every((pid) => !isAlive(pid)) ? true : undefined),
      15_000,
      "the machine to exit",
    );
    const refused = await http
      .fetch("/tasks", {
        json: { simulator: "custom", commands: [["true"]], machineGroup: "doomed" },
      })
      .catch((error: unknown) => error);
    assert.ok(
      refused instanceof Error && /terminated/.test(refused.message),
      "a terminated group takes no new tasks",
    );
  });
});
