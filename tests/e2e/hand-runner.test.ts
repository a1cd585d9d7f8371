// A runner started by hand (as on another host) joins a group with a runner token from
// `flotilla machine-groups runner-token`, runs that group's tasks, and may do nothing else.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Flotilla, MachineGroup, simulators } from "../../src/sdk/index.js";
import { CLI, cliEnv, runCli } from "../cli/cli-harness.js";
import { eventually, startRealServer, type RealServer } from "../helpers/real-server.js";

describe("a runner started by hand with a group's runner token", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  let runner: ChildProcess | undefined;
  before(async () => {
    server = await startRealServer();
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-hand-runner-"));
  });
  after(async () => {
    if (runner !== undefined && runner.exitCode === null) {
      const exited = new Promise((resolve) => runner?.once("exit", resolve));
      runner.kill("SIGTERM");
      await exited;
    }
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("joins the group, runs its tasks, and its token is refused for anything else", async () => {
    const group = new MachineGroup({ name: "by-hand", numMachines: 1, client });
    await group.start();
    const other = new MachineGroup({ name: "other", numMachines: 1, client });
    await other.start();
    const made = await runCli(["machine-groups", "runner-token", "by-hand"], cliEnv(server, work));
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    assert.match(token, /^flr_[0-9a-f]+$/);
    assert.match(
      made.stderr,
      /FLOTILLA_TOKEN=<token> flotilla runner start --server http:\/\/127\.0\.0\.1:\d+ --machine-group by-hand/,
    );

    runner = spawn(
      process.execPath,
      [
        CLI,
        "runner",
        "start",
        "--server",
        server.url,
        "--machine-group",
        "by-hand",
        "--work-dir",
        join(work, "runner"),
      ],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, FLOTILLA_TOKEN: token },
        stdio: "ignore",
      },
    );
    const handMachine = await eventually(
      async () => {
        const machines = (await group.getInfo()).machines;
        return machines.find((machine) => machine.pid === runner?.pid);
      },
      20_000,
      "the hand-started runner to register",
    );
    assert.equal(handMachine.status === "idle" || handMachine.status === "busy", true);

    // Each task takes 1 s: three at once cannot all run on the group's one own machine.
    const input = join(work, "input");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "x.txt"), "x");
    const ownMachines = (await group.getInfo()).machines.filter((m) => m.id !== handMachine.id);
    const tasks = await Promise.all(
      [1, 2, 3].map(() =>
        simulators.custom().run(input, { on: group, commands: [["sh", "-c", "echo $$; sleep 1"]] }),
      ),
    );
    const finals = await Promise.all(tasks.map((task) => task.wait()));
    for (const final of finals) assert.equal(final.status, "success", final.reason);
    const ranOn = new Set(finals.map((final) => final.machine?.id));
    assert.ok(
      ranOn.has(handMachine.id),
      `at least one of 3 tasks ran on the hand runner (own machines: ${ownMachines.map((m) => m.id).join(",")})`,
    );

    const asRunner = new Flotilla({ url: server.url, token });
    await assert.rejects(asRunner.listTasks({}), { code: "FORBIDDEN" });
    const joinOther = await fetch(`${server.url}/api/v1/runner/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ machineGroup: "other", host: "intruder" }),
    });
    assert.equal(joinOther.status, 403);
    assert.equal(((await joinOther.json()) as { error: { code: string } }).error.code, "FORBIDDEN");
  });

  it("refuses a token for a group the caller cannot see, or one that has ended", async () => {
    const missing = await runCli(["machine-groups", "runner-token", "nope"], cliEnv(server, work));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /machine group nope/);
    const ended = new MachineGroup({ name: "ended", numMachines: 1, client });
    await ended.start();
    await ended.terminate();
    await assert.rejects(client.createRunnerToken("ended"), {
      code: "MACHINE_GROUP_TERMINATED",
      message: /start a new group/,
    });
  });
});
