import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { OutputManifestView, TaskView } from "../../src/protocol/tasks.js";
import { clientFor, getTask, startGroup, submitDir, waitFor } from "../helpers/http.js";
import { eventually, startRealServer } from "../helpers/real-server.js";

describe("server restart", () => {
  it("keeps every task, its history, logs and outputs, and finishes the task that was running", async () => {
    const inputDir = await mkdtemp(join(tmpdir(), "flotilla-restart-"));
    await writeFile(join(inputDir, "in.txt"), "input");
    let server = await startRealServer();
    const dataDir = server.dataDir;
    try {
      let http = clientFor(server);
      await startGroup(http, "r", 1);
      const done = await submitDir(http, inputDir, {
        commands: [["sh", "-c", "echo hello; echo result > out.txt"]],
        machineGroup: "r",
      });
      const finished = await waitFor(http, done.id);
      assert.equal(finished.status, "success");
      const running = await submitDir(http, inputDir, {
        commands: [["sh", "-c", "sleep 2; echo second > second.txt"]],
        machineGroup: "r",
      });
      await eventually(
        async () => ((await getTask(http, running.id)).status === "started" ? true : undefined),
        30_000,
        "started",
      );
      await server.stop();

      server = await startRealServer({ dataDir });
      http = clientFor(server);
      const again = await http.json(TaskView, `/tasks/${done.id}`);
      assert.equal(again.status, "success");
      assert.deepEqual(again.statusHistory, finished.statusHistory);
      const manifest = await http.json(OutputManifestView, `/tasks/${done.id}/outputs`);
      assert.deepEqual(
        manifest.files.map((file) => file.path),
        ["out.txt"],
      );
      assert.equal(await (await http.fetch(`/tasks/${done.id}/logs`)).text(), "hello\n");

      const resumed = await waitFor(http, running.id);
      assert.equal(resumed.status, "success", resumed.reason);
      assert.ok(resumed.attempt >= 2, "it was retried after its machine stopped with the server");
      const secondManifest = await http.json(OutputManifestView, `/tasks/${running.id}/outputs`);
      assert.deepEqual(
        secondManifest.files.map((file) => file.path),
        ["second.txt"],
      );
    } finally {
      await server.close();
      await rm(inputDir, { recursive: true, force: true });
    }
  });
});
