import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
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
});
