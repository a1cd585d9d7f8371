import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MachineGroup as GroupRecord } from "../../src/domain/machine-group.js";
import { cpuShare } from "../../src/providers/local.js";
import { Flotilla, MachineGroup, simulators } from "../../src/sdk/index.js";
import { eventually, startRealServer, type RealServer } from "../helpers/real-server.js";

const group = (numMachines: number, options: Record<string, unknown> = {}): GroupRecord => ({
  name: "g",
  owner: "u",
  provider: "local",
  numMachines,
  status: "running",
  createdAt: 0,
  options,
});

describe("CPUs of local machines", () => {
  it("share the host's cores among the group's machines (at most, for elastic groups)", () => {
    assert.equal(cpuShare(group(1), 8), 8);
    assert.equal(cpuShare(group(4), 8), 2);
    assert.equal(cpuShare(group(3), 8), 2);
    assert.equal(cpuShare(group(16), 8), 1, "never less than one");
    assert.equal(cpuShare(group(0, { minMachines: 0, maxMachines: 4 }), 8), 2);
  });

  describe("on a real group", () => {
    let server: RealServer;
    let work: string;
    before(async () => {
      server = await startRealServer();
      work = await mkdtemp(join(tmpdir(), "flotilla-cpus-"));
    });
    after(async () => {
      await server.close();
      await rm(work, { recursive: true, force: true });
    });

    it("each machine reports its share, and a task sees it as FLOTILLA_CPUS", async () => {
      const client = new Flotilla({ url: server.url, token: server.token });
      const machines = 2;
      const expected = Math.max(1, Math.floor(availableParallelism() / machines));
      const sweep = new MachineGroup({ numMachines: machines, client });
      await sweep.start();
      const input = join(work, "in");
      await mkdir(input, { recursive: true });
      await writeFile(join(input, "x"), "x");
      const task = await simulators
        .custom()
        .run(input, { on: sweep, commands: [["sh", "-c", 'echo "cpus=$FLOTILLA_CPUS"']] });
      assert.equal((await task.wait()).status, "success");
      assert.equal(await task.getLogs(), `cpus=${expected}\n`);
      // The other machine may still be registering: its runner starts on its own schedule.
      const info = await eventually(async () => {
        const seen = await sweep.getInfo();
        return seen.machines.length === machines ? seen : undefined;
      });
      assert.deepEqual(
        info.machines.map((machine) => machine.cpus),
        Array.from({ length: machines }, () => expected),
      );
      await sweep.terminate();
    });
  });
});
