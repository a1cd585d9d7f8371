import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MachineGroupView } from "../../src/protocol/machine-groups.js";
import { clientFor, getTask, startGroup, submitDir, waitFor } from "../helpers/http.js";
import { eventually, isAlive, startRealServer } from "../helpers/real-server.js";

describe("a machine lost mid-task", () => {
  it("a runner killed with SIGKILL is replaced, and its task is retried after the lease expires and succeeds", async () => {
    const server = await startRealServer({
      env: { FLOTILLA_LEASE_MS: "1500", FLOTILLA_HEARTBEAT_MS: "300" },
    });
    const inputDir = await mkdtemp(join(tmpdir(), "flotilla-lost-"));
    try {
      await writeFile(join(inputDir, "in.txt"), "x");
      const http = clientFor(server);
      await startGroup(http, "fragile", 1);
      const marker = join(inputDir, "attempts.log");
      // The first attempt would run for a minute: it must die with its runner, not linger.
      const script = `first=0; [ -e ${marker} ] || first=1; echo "$$" >> ${marker}; [ $first = 1 ] && sleep 60; echo done > out.txt`;
      const task = await submitDir(http, inputDir, {
        commands: [["sh", "-c", script]],
        machineGroup: "fragile",
      });
      await eventually(
        async () => ((await getTask(http, task.id)).status === "started" ? true : undefined),
        30_000,
        "started",
      );
      // "started" comes before the shell's first line: wait for the first attempt's mark.
      await eventually(
        async () => ((await readFile(marker, "utf8").catch(() => "")) === "" ? undefined : true),
        30_000,
        "the first attempt's mark",
      );
      const before = await http.json(MachineGroupView, "/machine-groups/fragile");
      const victim = before.machines.find((machine) => machine.taskId === task.id);
      assert.ok(victim?.pid, "the machine running the task is known with its pid");
      process.kill(victim.pid, "SIGKILL");
      await eventually(
        () => (isAlive(victim.pid!) ? undefined : true),
        10_000,
        "the runner to die",
      );

      const done = await waitFor(http, task.id, 60_000);
      assert.equal(done.status, "success", done.reason);
      assert.equal(done.attempt, 2);
      assert.ok(
        done.statusHistory.some(
          (entry) => entry.detail === "machine-lost" && entry.status === "in-queue",
        ),
      );
      assert.notEqual(done.machine?.id, victim.id, "another machine finished it");
      assert.equal(
        (await readFile(marker, "utf8")).trim().split("\n").length,
        2,
        "it ran twice: once cut short, once to the end",
      );
      const after = await http.json(MachineGroupView, "/machine-groups/fragile");
      assert.ok(
        after.machines.some(
          (machine) =>
            machine.id !== victim.id && machine.status !== "stopped" && machine.status !== "lost",
        ),
      );
    } finally {
      await server.close();
      await rm(inputDir, { recursive: true, force: true });
    }
  });
});
