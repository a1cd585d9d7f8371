import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MachineGroupView } from "../../src/protocol/machine-groups.js";
import { createIdleRelease } from "../../src/services/release-idle-groups.js";
import { json, registerMachine, submit } from "../helpers/protocol.js";
import { createTestApp } from "../helpers/app-harness.js";

describe("the default machine group", () => {
  it("is started on the first task without a group, released when idle, and made again on next use", async () => {
    const app = await createTestApp({ defaultGroupIdleMs: 0, defaultGroupMachines: 3 });
    try {
      const release = createIdleRelease(app.deps);
      assert.equal(await release(), false, "nothing to release before it exists");
      const first = await submit(app, {});
      assert.equal(first.machineGroup, "default");
      assert.deepEqual(
        app.provider.started.map((s) => [s.group, s.count]),
        [["default", 3]],
      );
      assert.equal(await release(), false, "a queued task keeps it");
      const machine = await registerMachine(app, "default", app.provider.started[0]!.token);
      await machine.claim();
      await json(await machine.started(first.id), 200);
      await json(await machine.finish(first.id, { outcome: "exited", exitCode: 0 }), 200);
      assert.equal(await release(), true, "idle: released");
      const group = await json<MachineGroupView>(
        await app.request("GET", "/api/v1/machine-groups/default"),
        200,
      );
      assert.equal(group.status, "terminated");
      const second = await submit(app, {});
      assert.equal(second.status, "in-queue");
      assert.equal(app.provider.started.length, 2, "started again on next use");
    } finally {
      await app.close();
    }
  });
});
