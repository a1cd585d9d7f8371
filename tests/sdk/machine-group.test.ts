import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FlotillaError, InvalidInputError } from "../../src/domain/errors.js";
import { MachineGroup } from "../../src/sdk/machine-group.js";
import { closedPortClient, sendError, sendJson, startRecordingServer } from "./helpers.js";

function rejectsInput(
  options: ConstructorParameters<typeof MachineGroup>[0],
  message: RegExp,
): void {
  assert.throws(
    () => new MachineGroup(options),
    (error: unknown) =>
      error instanceof InvalidInputError &&
      error.code === "INVALID_INPUT" &&
      message.test(error.message),
  );
}

const groupView = {
  name: "sweep",
  owner: "admin",
  provider: "local",
  numMachines: 2,
  status: "running",
  createdAt: new Date(0).toISOString(),
  options: {},
  queued: 0,
  machines: [],
};

describe("new MachineGroup checks its options without touching the network", () => {
  it("rejects a number of machines that is not an integer >= 1", () => {
    rejectsInput({ numMachines: 0 }, /numMachines must be an integer >= 1, got 0/);
    rejectsInput({ numMachines: -3 }, /numMachines must be an integer >= 1, got -3/);
    rejectsInput({ numMachines: 1.5 }, /numMachines must be an integer >= 1, got 1\.5/);
    rejectsInput({ numMachines: Number.NaN }, /numMachines must be an integer >= 1, got NaN/);
    rejectsInput(
      { numMachines: "2" as unknown as number },
      /numMachines must be an integer >= 1, got 2/,
    );
  });

  it("rejects a bad name, provider, Slurm option or cost, naming the option", () => {
    rejectsInput({ name: "has spaces" }, /machine group name: use 1 to 63 letters/);
    rejectsInput({ provider: "kubernetes" as "local" }, /machine group provider/);
    rejectsInput(
      { provider: "slurm", options: { partitionn: "short" } as never },
      /machine group options/,
    );
    rejectsInput({ costPerHour: -1 }, /machine group costPerHour/);
  });

  it("accepts the defaults: one local machine, name chosen by the server", () => {
    const group = new MachineGroup();
    assert.equal(group.name, undefined);
    assert.equal(group.isStarted, false);
    assert.equal(group.info, undefined);
  });

  it("keeps a given name before it is started", () => {
    assert.equal(new MachineGroup({ name: "sweep", numMachines: 4 }).name, "sweep");
  });

  it("asks for start() before terminate() or getInfo() of a group without a name", async () => {
    const group = new MachineGroup({ client: await closedPortClient() });
    await assert.rejects(
      group.terminate(),
      /no name yet, so there is nothing to terminate: call start\(\) first/,
    );
    await assert.rejects(group.getInfo(), InvalidInputError);
  });

  it("surfaces an unreachable server on start()", async () => {
    const group = new MachineGroup({ client: await closedPortClient() });
    await assert.rejects(
      group.start(),
      (error: unknown) => error instanceof FlotillaError && error.code === "UNAVAILABLE",
    );
    assert.equal(group.isStarted, false);
  });
});

describe("MachineGroup.start", () => {
  it("sends the options, takes the server's name, and starts only once for concurrent callers", async () => {
    const server = await startRecordingServer((request, response) => {
      if (request.method === "POST")
        sendJson(response, 201, { ...groupView, name: "mg-0lx3k9v2a7b4c1d" });
      else sendError(response, 404, "NOT_FOUND", "no route");
    });
    try {
      const group = new MachineGroup({ numMachines: 2, costPerHour: 0.5, client: server.client });
      const [first, second] = await Promise.all([group.start(), group.start()]);
      assert.equal(first.name, "mg-0lx3k9v2a7b4c1d");
      assert.equal(second, first);
      assert.equal(group.name, "mg-0lx3k9v2a7b4c1d");
      assert.equal(group.isStarted, true);
      assert.equal(server.requests.length, 1);
      assert.deepEqual(JSON.parse(server.requests[0]!.body.toString()), {
        provider: "local",
        numMachines: 2,
        costPerHour: 0.5,
      });
      await group.start();
      assert.equal(server.requests.length, 1, "an already started group is not created again");
    } finally {
      await server.close();
    }
  });

  it("attaches to a running group of the same name instead of failing", async () => {
    const server = await startRecordingServer((request, response) => {
      if (request.method === "POST")
        sendError(response, 409, "MACHINE_GROUP_EXISTS", "machine group sweep exists");
      else sendJson(response, 200, groupView);
    });
    try {
      const view = await new MachineGroup({ name: "sweep", client: server.client }).start();
      assert.equal(view.name, "sweep");
      assert.deepEqual(
        server.requests.map((request) => `${request.method} ${request.path}`),
        ["POST /api/v1/machine-groups", "GET /api/v1/machine-groups/sweep"],
      );
    } finally {
      await server.close();
    }
  });
});
