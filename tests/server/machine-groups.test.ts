import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MachineGroupView } from "../../src/protocol/machine-groups.js";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";
import { createGroup, json, registerMachine } from "../helpers/protocol.js";

describe("machine group views", () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  const view = async (name: string): Promise<MachineGroupView> =>
    json<MachineGroupView>(await app.request("GET", `/api/v1/machine-groups/${name}`), 200);

  it("count the machines the provider started that have not registered yet, until they do", async () => {
    const token = await createGroup(app, "pilots", 3);
    assert.equal((await view("pilots")).startingMachines, 3, "nothing registered yet");
    const ids = app.provider.listMachines((await app.deps.store.getMachineGroup("pilots"))!);
    assert.equal(ids.length, 3);
    await registerMachine(app, "pilots", token, ids[0]);
    await registerMachine(app, "pilots", token, ids[1]);
    const after = await view("pilots");
    assert.equal(after.startingMachines, 1);
    assert.equal(after.machines.length, 2);
    await json(await app.request("DELETE", "/api/v1/machine-groups/pilots"), 200);
    assert.equal((await view("pilots")).startingMachines, 0, "an ended group starts nothing");
  });
});
