// A runner started by a server process (FLOTILLA_PARENT_PID, set by the local provider) stops
// when that process is gone, instead of serving on as a machine nobody owns: a restarted server
// starts its own machines.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Flotilla, MachineGroup } from "../../src/sdk/index.js";
import { CLI, shellQuote } from "../cli/cli-harness.js";
import { eventually, isAlive, startRealServer, type RealServer } from "../helpers/real-server.js";

describe("a runner whose server process is gone", () => {
  let server: RealServer;
  let work: string;
  before(async () => {
    server = await startRealServer();
    work = await mkdtemp(join(tmpdir(), "flotilla-orphan-"));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("stops by itself once its parent exits, while idle", async () => {
    const client = new Flotilla({ url: server.url, token: server.token });
    const group = new MachineGroup({ name: "orphans", numMachines: 1, client });
    await group.start();
    const { token } = await client.createRunnerToken("orphans");
    // A stand-in for the server process: it starts the runner, says its pid, and exits later.
    const runner = [process.execPath, CLI, "runner", "start", "--server", server.url]
      .concat(["--machine-group", "orphans", "--work-dir", join(work, "runner")])
      .map(shellQuote)
      .join(" ");
    const parent = spawn(
      "sh",
      ["-c", `FLOTILLA_PARENT_PID=$$ ${runner} >/dev/null 2>&1 & echo $!; read line`],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, FLOTILLA_TOKEN: token },
        stdio: ["pipe", "pipe", "ignore"],
      },
    );
    const runnerPid = await new Promise<number>((resolve) =>
      parent.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    try {
      await eventually(
        async () =>
          (await group.getInfo()).machines.some((machine) => machine.pid === runnerPid)
            ? true
            : undefined,
        20_000,
        "the runner to register",
      );
      assert.equal(isAlive(runnerPid), true, "it serves while its parent lives");
      parent.stdin.end(); // `read` returns: the parent exits
      await eventually(() => (isAlive(runnerPid) ? undefined : true), 20_000, "the runner to stop");
    } finally {
      if (isAlive(runnerPid)) process.kill(runnerPid, "SIGKILL");
      parent.kill("SIGKILL");
    }
  });
});
