import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { Flotilla, MachineGroup, simulators, tasks, type Task } from "../../src/sdk/index.js";
import { eventually, isAlive, startRealServer, type RealServer } from "../helpers/real-server.js";

// The seed's parallel workflow: a group, a batch of scenarios, wait for each, download, terminate.
describe("the seed's parallel workflow through the SDK", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  before(async () => {
    server = await startRealServer();
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-seed-"));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("runs four scenarios on a group of two machines, downloads each, and terminates the group", async () => {
    const group = new MachineGroup({ provider: "local", numMachines: 2, client });
    await group.start();
    const configs = ["wind_10ms", "wind_15ms", "wind_20ms", "wind_25ms"];
    const submitted: Task[] = [];
    for (const config of configs) {
      const dir = join(work, "scenarios", config);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "speed.txt"), config.replace(/\D/g, ""));
      const script =
        'speed=$(cat speed.txt); echo "running $speed"; mkdir -p out; echo $((speed * 2)) > out/load.txt; echo done > status.txt';
      submitted.push(
        await simulators
          .custom()
          .run(dir, { on: group, project: "seed", commands: [["sh", "-c", script]] }),
      );
    }
    for (const task of submitted)
      assert.notEqual(task.status, "pending-input", "run() returns once the input is uploaded");
    for (const [i, task] of submitted.entries()) {
      const seen: string[] = [];
      const final = await task.wait({ onStatus: (view) => seen.push(view.status) });
      assert.equal(seen.at(-1), "success");
      assert.deepEqual(seen, [...new Set(seen)], "each status is reported once");
      assert.equal(final.status, "success", final.reason);
      assert.equal(task.status, "success");
      const dir = await task.downloadOutputs(join(work, "results", configs[i]!));
      assert.deepEqual((await readdir(dir, { recursive: true })).sort(), [
        "out",
        "out/load.txt",
        "status.txt",
      ]);
      assert.equal(
        (await readFile(join(dir, "out/load.txt"), "utf8")).trim(),
        String(Number(configs[i]!.replace(/\D/g, "")) * 2),
      );
      assert.equal(await task.getLogs(), `running ${configs[i]!.replace(/\D/g, "")}\n`);
    }
    const chosen = await submitted[0]!.downloadOutputs(join(work, "chosen"), {
      files: ["status.txt"],
    });
    assert.deepEqual(await readdir(chosen), ["status.txt"]);

    const listed = await tasks.get({ lastN: 10, project: "seed", client });
    assert.deepEqual(
      listed.map((task) => task.id),
      submitted.map((task) => task.id).reverse(),
    );
    const all: string[] = [];
    for await (const task of tasks.getAll({ project: "seed", client })) all.push(task.id);
    assert.equal(all.length, 4);

    const info = await group.getInfo();
    const pids = info.machines
      .map((machine) => machine.pid)
      .filter((pid): pid is number => pid !== undefined);
    assert.equal(pids.length, 2, "two runner processes registered");
    const terminated = await group.terminate();
    assert.equal(terminated.status, "terminated");
    await eventually(
      () => (pids.every((pid) => !isAlive(pid)) ? true : undefined),
      15_000,
      "runner processes to exit",
    );
  });

  it("Ctrl-C during wait() leaves the task running to success, and says how to follow it", async () => {
    const group = new MachineGroup({ provider: "local", numMachines: 1, client });
    await group.start();
    const dir = join(work, "ctrl-c");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "x"), "x");
    const task = await simulators
      .custom()
      .run(dir, { on: group, commands: [["sh", "-c", "sleep 1.5; echo finished > done.txt"]] });
    const fixture = fileURLToPath(new URL("./fixtures/wait-child.js", import.meta.url));
    const child = spawn(process.execPath, [fixture, server.url, server.token, task.id], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    await eventually(
      () => (stdout.includes("waiting") ? true : undefined),
      15_000,
      "the child to wait",
    );
    child.kill("SIGINT");
    assert.equal(await exited, 130);
    assert.match(stderr, new RegExp(`task ${task.id} keeps running`));
    assert.match(stderr, /flotilla logs/);
    assert.doesNotMatch(stdout, /wait returned/);
    const final = await task.wait();
    assert.equal(final.status, "success");
    assert.ok(!final.statusHistory.some((entry) => entry.status === "killed"));
    await group.terminate();
  });

  it("Ctrl-C while run() uploads the input kills the half-submitted task and exits 130", async () => {
    const group = new MachineGroup({ provider: "local", numMachines: 1, client });
    await group.start();
    const dir = join(work, "big-input");
    await mkdir(dir, { recursive: true });
    // A sparse 4 GiB file: seconds of gzip on upload, a few MiB on disk.
    await writeFile(join(dir, "zeros.bin"), "");
    await truncate(join(dir, "zeros.bin"), 4 * 1024 ** 3);
    const fixture = fileURLToPath(new URL("./fixtures/submit-child.js", import.meta.url));
    const child = spawn(process.execPath, [fixture, server.url, server.token, dir, group.name!], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    const pending = await eventually(
      async () => {
        const page = await client.listTasks({ machineGroup: group.name!, status: "pending-input" });
        return page.tasks[0];
      },
      15_000,
      "the task to be created",
    );
    child.kill("SIGINT");
    assert.equal(await exited, 130, `stdout: ${stdout} stderr: ${stderr}`);
    assert.doesNotMatch(stdout, /submitted /, "the upload was interrupted, not finished");
    assert.match(stderr, new RegExp(`uploading the input of task ${pending.id}; it was killed`));
    assert.equal((await client.getTask(pending.id)).status, "killed");
    await group.terminate();
  });
});
