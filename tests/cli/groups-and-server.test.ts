import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Flotilla, simulators } from "../../src/sdk/index.js";
import { eventually, isAlive, startRealServer, type RealServer } from "../helpers/real-server.js";
import { CLI, cliEnv, runCli, runCliTty } from "./cli-harness.js";

describe("flotilla machine-groups, projects and simulators", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await startRealServer();
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-cli-groups-"));
    env = cliEnv(server, work);
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("starts, lists, shows and terminates a group; `resources` is the same command", async () => {
    const started = await runCli(["machine-groups", "start", "cli-group", "-n", "2"], env);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(started.stderr, "Started machine group cli-group: 2 local machine(s).\n");
    assert.match(started.stdout, /^Machine group cli-group\n/);
    await eventually(
      async () => {
        const group = await client.getMachineGroup("cli-group");
        return group.machines.filter((m) => m.status === "idle").length === 2 ? true : undefined;
      },
      20_000,
      "two idle machines",
    );

    const listed = await runCli(["resources", "list"], env);
    assert.match(listed.stdout, /^cli-group\tlocal\trunning\t2\/2\t0\t0\t\d{4}-/m);
    const tty = await runCliTty(["machine-groups", "list"], env);
    assert.match(
      tty.stdout,
      /\u001b\[1mNAME +PROVIDER +STATUS +MACHINES +BUSY +QUEUED +CREATED\u001b\[22m/,
    );
    const info = await runCli(["machine-groups", "info", "cli-group"], env);
    assert.match(info.stdout, /machines +2 up of 2/);
    assert.equal(info.stdout.match(/\tidle\t/g)?.length, 2, info.stdout);
    const json = await runCli(["resources", "info", "cli-group", "--json"], env);
    assert.equal((JSON.parse(json.stdout) as { name: string }).name, "cli-group");

    const declined = await runCliTty(["machine-groups", "terminate", "cli-group"], env, {
      prompt: "[y/N]",
      answer: "n\n",
    });
    assert.equal(declined.code, 2, declined.stdout);
    assert.match(
      declined.stdout,
      /Terminate machine group cli-group \(0 running and 0 queued task\(s\) will be killed\)\?/,
    );
    assert.equal((await client.getMachineGroup("cli-group")).status, "running");
    const terminated = await runCli(["resources", "terminate", "cli-group", "-y"], env);
    assert.deepEqual(terminated, {
      code: 0,
      stdout: "machine group cli-group terminated\n",
      stderr: "",
    });
    assert.doesNotMatch((await runCli(["resources", "list"], env)).stdout, /cli-group/);
    assert.match(
      (await runCli(["resources", "list", "--all"], env)).stdout,
      /^cli-group\tlocal\tterminated/m,
    );
    const missing = await runCli(["machine-groups", "info", "nope"], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: machine group nope not found; start it first/);
  });

  it("projects list counts tasks per project; simulators list says where each runs", async () => {
    const input = join(work, "case");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "x.txt"), "x");
    const task = await simulators
      .custom()
      .run(input, { client, project: "alpha", commands: [["true"]] });
    await task.wait();
    const projects = await runCli(["projects", "list"], env);
    assert.match(projects.stdout, /^alpha\t1$/m);
    const json = await runCli(["projects", "list", "--json"], env);
    assert.deepEqual(JSON.parse(json.stdout), [{ name: "alpha", taskCount: 1 }]);
    const listed = await runCli(["simulators", "list"], env);
    assert.match(listed.stdout, /^custom\tevery group\t/m);
  });
});

describe("flotilla server status and stop", () => {
  it("status says where a running server is; stop ends it and status then exits 1", async () => {
    const work = await mkdtemp(join(tmpdir(), "flotilla-cli-server-"));
    const dataDir = join(work, "data");
    const env = cliEnv({ url: "http://127.0.0.1:9", token: "unused" }, work, {
      FLOTILLA_DATA_DIR: dataDir,
    });
    const child = spawn(process.execPath, [CLI, "server", "start", "--port", "0"], {
      env,
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await eventually(
        () => (existsSync(join(dataDir, "server.json")) ? true : undefined),
        20_000,
        "server.json",
      );
      const status = await runCli(["server", "status"], env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(
        status.stdout,
        new RegExp(`^status +running\\nurl +http://127\\.0\\.0\\.1:\\d+\\npid +${child.pid}\\n`),
      );
      const json = await runCli(["server", "status", "--data-dir", dataDir, "--json"], env);
      assert.equal((JSON.parse(json.stdout) as { running: boolean }).running, true);

      const stopped = await runCli(["server", "stop"], env);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(
        stopped.stderr,
        new RegExp(
          `^Stopped the flotilla server at http://127\\.0\\.0\\.1:\\d+ \\(pid ${child.pid}\\)\\.\\n$`,
        ),
      );
      assert.equal(await exited, 0);
      assert.equal(existsSync(join(dataDir, "server.json")), false);
      const after = await runCli(["server", "status"], env);
      assert.deepEqual(after, {
        code: 1,
        stdout: `No flotilla server is running for ${dataDir}.\n`,
        stderr: "",
      });
      const again = await runCli(["server", "stop"], env);
      assert.equal(again.code, 0, "stopping a stopped server is not an error");
    } finally {
      if (child.pid !== undefined && isAlive(child.pid)) child.kill("SIGKILL");
      await exited;
      await rm(work, { recursive: true, force: true });
    }
  });
});
