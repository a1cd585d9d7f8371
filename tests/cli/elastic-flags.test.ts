import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startRealServer, type RealServer } from "../helpers/real-server.js";
import { cliEnv, runCli } from "./cli-harness.js";

describe("flotilla machine-groups start: elastic flags", () => {
  let server: RealServer;
  let work: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    server = await startRealServer();
    work = await mkdtemp(join(tmpdir(), "flotilla-cli-elastic-"));
    env = cliEnv(server, work);
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("--max-machines makes an elastic group that starts with --min-machines machines", async () => {
    const started = await runCli(
      ["machine-groups", "start", "el", "--max-machines", "2", "--max-idle-ms", "500", "--json"],
      env,
    );
    assert.equal(started.code, 0, started.stderr);
    const view = JSON.parse(started.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [view.numMachines, view.minMachines, view.maxMachines, view.maxIdleMs, view.machines],
      [0, 0, 2, 500, []],
    );
    const info = await runCli(["machine-groups", "info", "el"], env);
    assert.match(info.stdout, /elastic +0 to 2 machines, idle release after 500 ms/);
    assert.equal((await runCli(["machine-groups", "terminate", "el", "--yes"], env)).code, 0);
  });

  it("rejects limits that contradict each other, saying which", async () => {
    const result = await runCli(
      ["machine-groups", "start", "bad", "--min-machines", "3", "--max-machines", "2"],
      env,
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /minMachines \(3\) must not exceed maxMachines \(2\)/);
  });
});
