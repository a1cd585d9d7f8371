// Graceful SIGTERM. A runner stops claiming, kills its task's process group and hands the task
// back (in-queue, attempt + 1, the reason in its history): it does not wait for a task that may
// run for days. It exits 143, so its provider, which did not ask, replaces it. The server stops accepting, ends open long polls, stops its machines, closes the
// store and exits 0; restarted on the same data dir it runs the handed-back task to success.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Flotilla } from "../../src/sdk/client.js";
import { eventually, isAlive } from "../helpers/real-server.js";
import {
  findFreePort,
  killLeftovers,
  readAdminToken,
  startServerProcess,
  type ServerProcess,
} from "../helpers/server-process.js";

describe("graceful SIGTERM", () => {
  it("a runner hands its task back; the server ends long polls and exits 0; nothing is lost", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "flotilla-term-"));
    const inputDir = await mkdtemp(join(tmpdir(), "flotilla-term-in-"));
    const port = await findFreePort();
    const pids = new Set<number>();
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess({ dataDir, port });
      const client = new Flotilla({ url: server.url, token: await readAdminToken(dataDir) });
      await writeFile(join(inputDir, "in.txt"), "x");
      await client.createMachineGroup({ name: "term", provider: "local", numMachines: 1 });
      const marker = join(inputDir, "runs.log");
      const script = `first=0; [ -e ${marker} ] || first=1; echo run >> ${marker}; [ $first = 1 ] && sleep 60; echo done > out.txt`;
      const created = await client.createTask({
        simulator: "custom",
        commands: [["sh", "-c", script]],
        machineGroup: "term",
      });
      await client.uploadInput(created.id, inputDir);
      await eventually(
        async () => ((await client.getTask(created.id)).status === "started" ? true : undefined),
        30_000,
        "the task to start",
      );
      // "started" is reported before the shell has run its first line: wait for the marker,
      // or the second run would think it is the first (and sleep).
      await eventually(() => (existsSync(marker) ? true : undefined), 30_000, "the first run");
      const runner = (await client.getMachineGroup("term")).machines.find(
        (machine) => machine.taskId === created.id,
      );
      assert.ok(runner?.pid !== undefined);
      pids.add(runner.pid);
      process.kill(runner.pid, "SIGTERM");
      await eventually(() => (isAlive(runner.pid!) ? undefined : true), 20_000, "runner exit");
      // Handed back at once, not after a lease (a replacement machine may already have it).
      const handedBack = await client.getTask(created.id);
      assert.equal(handedBack.attempt, 2);
      const back = handedBack.statusHistory.find(
        (entry) => entry.status === "in-queue" && /runner was stopped/.test(entry.reason),
      );
      assert.ok(back, JSON.stringify(handedBack.statusHistory));
      // Stopped from outside, not by its provider: the group gets a new machine.
      const replacement = await eventually(
        async () =>
          (await client.getMachineGroup("term")).machines.find(
            (machine) =>
              machine.id !== runner.id && (machine.status === "idle" || machine.status === "busy"),
          ),
        30_000,
        "a replacement machine",
      );
      if (replacement.pid !== undefined) pids.add(replacement.pid);

      const longPoll = client.waitTask(created.id, 120_000).then(
        () => "answered",
        () => "connection closed",
      );
      process.kill(server.pid, "SIGTERM");
      const exit = await server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, "exit 0 after a clean stop");
      assert.ok(["answered", "connection closed"].includes(await longPoll), "the long poll ended");
      assert.equal(existsSync(join(dataDir, "server.json")), false, "server.json removed");

      server = await startServerProcess({ dataDir, port });
      const again = new Flotilla({ url: server.url, token: await readAdminToken(dataDir) });
      const deadline = Date.now() + 60_000;
      let done = await again.getTask(created.id);
      while (!done.isTerminal && Date.now() < deadline)
        done = await again.waitTask(done.id, 30_000);
      assert.equal(done.status, "success", done.reason);
      for (const machine of (await again.getMachineGroup("term")).machines)
        pids.add(machine.pid ?? 0);
    } finally {
      if (server !== undefined && server.child.exitCode === null) {
        process.kill(server.pid, "SIGTERM");
        await server.exited;
      }
      killLeftovers(pids);
      await rm(dataDir, { recursive: true, force: true });
      await rm(inputDir, { recursive: true, force: true });
    }
  });
});
