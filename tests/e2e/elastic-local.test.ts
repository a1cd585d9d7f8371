// Elastic machine groups on the local provider: real runner processes come and go with the queue.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Flotilla, InvalidInputError, MachineGroup, simulators } from "../../src/sdk/index.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";
import { errorOf } from "../helpers/protocol.js";
import { eventually, isAlive, startRealServer, type RealServer } from "../helpers/real-server.js";

describe("elastic groups on the local provider", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  before(async () => {
    server = await startRealServer({
      env: { FLOTILLA_LEASE_MS: "4000", FLOTILLA_HEARTBEAT_MS: "400" },
    });
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-elastic-"));
    await writeFile(join(work, "x.txt"), "x");
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("min 0 / max 3: a burst of tasks scales up to 3 machines, then back to 0 after maxIdleMs", async () => {
    const group = new MachineGroup({
      name: "burst",
      minMachines: 0,
      maxMachines: 3,
      maxIdleMs: 1_000,
      client,
    });
    const started = await group.start();
    assert.equal(started.machines.length, 0);
    assert.deepEqual(
      [started.minMachines, started.maxMachines, started.maxIdleMs],
      [0, 3, 1_000],
      "the view shows the limits",
    );
    assert.deepEqual(started.options, {}, "the limits are not mixed into the provider options");

    const submitted = await Promise.all(
      Array.from({ length: 6 }, () =>
        simulators.custom().run(work, { on: group, commands: [["sh", "-c", "sleep 1.5"]] }),
      ),
    );
    const up = await eventually(
      async () => {
        const info = await group.getInfo();
        const busy = info.machines.filter((machine) => machine.status === "busy");
        return busy.length === 3 ? info.machines : undefined;
      },
      30_000,
      "three busy machines",
    );
    for (const task of submitted) assert.equal((await task.wait()).status, "success");
    const info = await group.getInfo();
    assert.equal(info.machines.length, 3, "never more than maxMachines machines were started");
    const pids = up.flatMap((machine) => machine.pid ?? []);
    assert.equal(pids.length, 3);

    await eventually(
      async () => {
        const view = await group.getInfo();
        return view.machines.every((machine) => machine.status === "stopped") ? true : undefined;
      },
      20_000,
      "idle machines to be released",
    );
    await eventually(
      () => (pids.every((pid) => !isAlive(pid)) ? true : undefined),
      15_000,
      "the released runners to exit",
    );
    assert.equal((await group.getInfo()).status, "running", "the group stays, with 0 machines");

    // And it grows again from 0 on the next task.
    const again = await simulators.custom().run(work, { on: group, commands: [["true"]] });
    assert.equal((await again.wait()).status, "success");
    await group.terminate();
  });

  it("min 1 keeps one machine after the idle time", async () => {
    const group = new MachineGroup({
      name: "floor",
      minMachines: 1,
      maxMachines: 2,
      maxIdleMs: 500,
      client,
    });
    const started = await group.start();
    assert.equal(started.numMachines, 1, "starts with minMachines");
    const tasks = await Promise.all(
      [1, 2].map(() =>
        simulators.custom().run(work, { on: group, commands: [["sh", "-c", "sleep 1"]] }),
      ),
    );
    for (const task of tasks) assert.equal((await task.wait()).status, "success");
    const settled = await eventually(
      async () => {
        const view = await group.getInfo();
        const stopped = view.machines.filter((machine) => machine.status === "stopped");
        return view.machines.length === 2 && stopped.length === 1 ? view : undefined;
      },
      20_000,
      "one of two machines to be released",
    );
    assert.equal(settled.machines.filter((machine) => machine.status === "idle").length, 1);
    await group.terminate();
  });
});

describe("elastic group options are checked", () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(async () => app.close());

  const cases: { name: string; json: Record<string, unknown>; message: RegExp }[] = [
    {
      name: "min above max",
      json: { numMachines: 0, minMachines: 3, maxMachines: 2 },
      message: /minMachines \(3\) must not exceed maxMachines \(2\)/,
    },
    {
      name: "a start size outside the limits",
      json: { numMachines: 5, maxMachines: 2 },
      message: /numMachines \(5\) must lie between minMachines \(0\) and maxMachines \(2\)/,
    },
    {
      name: "limits without maxMachines",
      json: { numMachines: 1, maxIdleMs: 1000 },
      message: /maxIdleMs: an elastic group needs maxMachines too/,
    },
    {
      name: "0 machines for a fixed group",
      json: { numMachines: 0 },
      message: /numMachines must be at least 1/,
    },
  ];
  for (const { name, json, message } of cases) {
    it(`rejects ${name} with INVALID_INPUT and makes no group`, async () => {
      const response = await app.request("POST", "/api/v1/machine-groups", {
        json: { name: "bad", provider: "local", ...json },
      });
      const error = await errorOf(response, 400);
      assert.equal(error.code, "INVALID_INPUT");
      assert.match(error.message, message);
      assert.equal(app.provider.started.length, 0);
      assert.equal(await app.deps.store.getMachineGroup("bad"), undefined);
    });
  }

  it("the SDK says the same before sending anything", () => {
    assert.throws(
      () => new MachineGroup({ minMachines: 2, maxMachines: 1 }),
      (error: unknown) =>
        error instanceof InvalidInputError && /must not exceed maxMachines/.test(error.message),
    );
  });
});
