// Slurm machine groups end to end on a real cluster (scripts/slurm-dev-cluster.sh start): pilots
// are real sbatch jobs running real runners that talk real HTTP to a server in this process.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import {
  buildScancel,
  buildSqueue,
  parseSqueueOutput,
  phaseOf,
  runSlurmCommand,
} from "../../src/providers/slurm-commands.js";
import { Flotilla, MachineGroup, simulators, type Task } from "../../src/sdk/index.js";
import { eventually, isAlive, startRealServer, type RealServer } from "../helpers/real-server.js";
import { describeWithSlurm } from "../helpers/slurm-support.js";

/** Job ids among `jobIds` that Slurm still runs or will run. */
async function liveJobs(jobIds: readonly string[]): Promise<string[]> {
  if (jobIds.length === 0) return [];
  const stdout = await runSlurmCommand(buildSqueue(jobIds)).catch(() => "");
  return parseSqueueOutput(stdout)
    .filter((row) => phaseOf(row.state) !== "ended")
    .map((row) => row.jobId.baseId);
}

/** The Slurm job ids of a group's machines that are up. */
async function pilotJobs(group: MachineGroup): Promise<string[]> {
  const info = await group.getInfo();
  return info.machines
    .filter((machine) => machine.status !== "stopped" && machine.status !== "lost")
    .flatMap((machine) => machine.providerRef ?? []);
}

describeWithSlurm("Slurm machine groups on a real cluster", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  const seenJobs = new Set<string>();

  before(async () => {
    server = await startRealServer({
      env: {
        FLOTILLA_LEASE_MS: "4000",
        FLOTILLA_HEARTBEAT_MS: "400",
        FLOTILLA_SLURM_POLL_MS: "300",
        FLOTILLA_KILL_GRACE_MS: "1000",
      },
    });
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-slurm-e2e-"));
  });
  after(async () => {
    await server.close(); // cancels every pilot it still has
    // Belt and braces: no pilot of these tests may outlive them.
    const left = await liveJobs([...seenJobs]);
    if (left.length > 0) await runSlurmCommand(buildScancel(left));
    await rm(work, { recursive: true, force: true });
    assert.deepEqual(left, [], "every pilot was cancelled by the server");
  });

  const inputDir = async (name: string, files: Record<string, string>): Promise<string> => {
    const dir = join(work, "inputs", name);
    await mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
    return dir;
  };

  it("runs the seed's parallel workflow on 2 pilots, shows their job ids, and terminate cancels them", async () => {
    const group = new MachineGroup({ provider: "slurm", numMachines: 2, timeLimit: "10", client });
    await group.start();
    const jobs = await eventually(
      async () => {
        const refs = await pilotJobs(group);
        return refs.length === 2 ? refs : undefined;
      },
      60_000,
      "both pilots to register",
    );
    jobs.forEach((job) => seenJobs.add(job));
    assert.ok(
      jobs.every((job) => /^\d+$/.test(job)),
      `machines show Slurm job ids: ${jobs.join(",")}`,
    );
    assert.deepEqual((await liveJobs(jobs)).sort(), [...jobs].sort(), "squeue lists both pilots");

    const configs = ["wind_10ms", "wind_15ms", "wind_20ms", "wind_25ms"];
    const submitted: Task[] = [];
    for (const config of configs) {
      const dir = await inputDir(config, { "speed.txt": config.replace(/\D/g, "") });
      const script =
        'speed=$(cat speed.txt); echo "running $speed on $SLURM_JOB_ID"; mkdir -p out; echo $((speed * 2)) > out/load.txt';
      submitted.push(
        await simulators.custom().run(dir, { on: group, commands: [["sh", "-c", script]] }),
      );
    }
    for (const [i, task] of submitted.entries()) {
      const final = await task.wait();
      assert.equal(final.status, "success", final.reason);
      const dir = await task.downloadOutputs(join(work, "results", configs[i]!));
      assert.deepEqual((await readdir(dir, { recursive: true })).sort(), ["out", "out/load.txt"]);
      const speed = Number(configs[i]!.replace(/\D/g, ""));
      assert.equal((await readFile(join(dir, "out/load.txt"), "utf8")).trim(), String(speed * 2));
      const log = await task.getLogs();
      assert.ok(
        jobs.some((job) => log === `running ${speed} on ${job}\n`),
        `ran inside a pilot: ${log}`,
      );
    }

    const terminated = await group.terminate();
    assert.equal(terminated.status, "terminated");
    assert.deepEqual(await liveJobs(jobs), [], "terminate cancelled the pilots");
  });

  it("options Slurm refuses (unknown partition, impossible memory) are a 400 in Slurm's words, and leave no group running", async () => {
    for (const [name, options, said] of [
      ["bad-partition", { partition: "no-such-partition" }, /Invalid partition/i],
      ["bad-memory", { memoryMb: 999_999_999 }, /Memory specification|node configuration/i],
    ] as const) {
      const group = new MachineGroup({
        name,
        provider: "slurm",
        numMachines: 1,
        ...options,
        client,
      });
      await assert.rejects(group.start(), (error: Error & { code?: string }) => {
        assert.equal(error.code, "INVALID_INPUT");
        assert.match(error.message, said);
        assert.match(error.message, /check partition, account/);
        return true;
      });
      assert.equal((await client.getMachineGroup(name)).status, "terminated");
    }
  });

  it("kills a running task: its process is gone and the pilot stays up", async () => {
    const group = new MachineGroup({ provider: "slurm", numMachines: 1, client });
    await group.start();
    const pidFile = join(work, "kill.pid");
    const dir = await inputDir("kill", { "x.txt": "x" });
    const task = await simulators.custom().run(dir, {
      on: group,
      commands: [["sh", "-c", `echo $$ > ${pidFile}; exec sleep 300`]],
    });
    const pid = await eventually(
      async () => {
        const text = await readFile(pidFile, "utf8").catch(() => "");
        return text.trim() === "" ? undefined : Number(text.trim());
      },
      60_000,
      "the task's process to start",
    );
    assert.ok(isAlive(pid));
    await task.kill();
    const final = await task.wait();
    assert.equal(final.status, "killed");
    assert.equal(isAlive(pid), false, "the task's process is gone once it is killed");
    const jobs = await pilotJobs(group);
    jobs.forEach((job) => seenJobs.add(job));
    assert.equal((await liveJobs(jobs)).length, 1, "the pilot still runs");
    await group.terminate();
    assert.deepEqual(await liveJobs(jobs), []);
  });

  it("a pilot cancelled with scancel mid-task: the task is retried on a replacement and succeeds", async () => {
    const group = new MachineGroup({ provider: "slurm", numMachines: 1, client });
    await group.start();
    const marker = join(work, "attempts.log");
    const pidFile = join(work, "first.pid");
    // The first attempt would run for five minutes: it must die with its pilot.
    const script = `first=0; [ -e ${marker} ] || first=1; echo "$SLURM_JOB_ID" >> ${marker}; if [ $first = 1 ]; then echo $$ > ${pidFile}; exec sleep 300; fi; echo done > out.txt`;
    const dir = await inputDir("scancel", { "x.txt": "x" });
    const task = await simulators
      .custom()
      .run(dir, { on: group, commands: [["sh", "-c", script]] });
    const pid = await eventually(
      async () => {
        const text = await readFile(pidFile, "utf8").catch(() => "");
        return text.trim() === "" ? undefined : Number(text.trim());
      },
      60_000,
      "the first attempt to start",
    );
    const before = await group.getInfo();
    const victim = before.machines.find((machine) => machine.taskId === task.id);
    assert.ok(victim?.providerRef, "the machine running the task shows its Slurm job");
    seenJobs.add(victim.providerRef);
    await runSlurmCommand(buildScancel([victim.providerRef]));

    const final = await task.wait();
    assert.equal(final.status, "success", final.reason);
    assert.equal(final.attempt, 2);
    assert.ok(
      final.statusHistory.some(
        (entry) => entry.detail === "machine-lost" && entry.status === "in-queue",
      ),
      "it went back to the queue as a lost machine's task",
    );
    assert.notEqual(final.machine?.id, victim.id, "a replacement pilot finished it");
    assert.equal(isAlive(pid), false, "the first attempt's process died with its pilot");
    const ranOn = (await readFile(marker, "utf8")).trim().split("\n");
    assert.equal(ranOn.length, 2);
    assert.equal(ranOn[0], victim.providerRef);
    assert.notEqual(ranOn[1], victim.providerRef, "the retry ran in another pilot job");
    ranOn.forEach((job) => seenJobs.add(job));

    const after = await group.getInfo();
    assert.equal(after.machines.find((machine) => machine.id === victim.id)?.status, "lost");
    const replacements = await pilotJobs(group);
    replacements.forEach((job) => seenJobs.add(job));
    assert.equal(replacements.length, 1, "the group has one machine again");
    await group.terminate();
    assert.deepEqual(await liveJobs(replacements), []);
  });

  it("an elastic Slurm group grows from 0 pilots with the queue and shrinks back to 0 when idle", async () => {
    const group = new MachineGroup({
      provider: "slurm",
      minMachines: 0,
      maxMachines: 2,
      maxIdleMs: 1_000,
      client,
    });
    const started = await group.start();
    assert.equal(started.machines.length, 0, "no pilot while nothing waits");
    const dir = await inputDir("elastic", { "x.txt": "x" });
    const submitted = await Promise.all(
      [1, 2].map(() =>
        simulators.custom().run(dir, {
          on: group,
          commands: [["sh", "-c", 'sleep 1; echo "$SLURM_JOB_ID" > job.txt']],
        }),
      ),
    );
    for (const task of submitted) assert.equal((await task.wait()).status, "success");
    const jobs = (await group.getInfo()).machines.flatMap((machine) => machine.providerRef ?? []);
    jobs.forEach((job) => seenJobs.add(job));
    assert.ok(
      jobs.length >= 1 && jobs.length <= 2,
      `1 or 2 pilots were started: ${jobs.join(",")}`,
    );
    await eventually(
      async () => ((await liveJobs(jobs)).length === 0 ? true : undefined),
      30_000,
      "idle pilots to be released",
    );
    const info = await eventually(
      async () => {
        const view = await group.getInfo();
        return view.machines.every((machine) => machine.status === "stopped") ? view : undefined;
      },
      10_000,
      "the released machines to be recorded stopped",
    );
    assert.equal(info.status, "running", "the group itself stays");
    await group.terminate();
  });
});
