import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TaskView } from "../../src/protocol/tasks.js";
import { createTestApp } from "../helpers/app-harness.js";
import { createGroup, errorOf, json, submit } from "../helpers/protocol.js";

async function registerWith(
  app: Awaited<ReturnType<typeof createTestApp>>,
  group: string,
  token: string,
  simulators: Record<string, string>,
): Promise<string> {
  const { machineId } = await json<{ machineId: string }>(
    await app.request("POST", "/api/v1/runner/register", {
      token,
      json: { machineGroup: group, host: "test-host", simulators },
    }),
    200,
  );
  return machineId;
}

describe("which simulators a machine group can run", () => {
  it("refuses a task for a simulator no registered machine of the group has, with SIMULATOR_UNAVAILABLE", async () => {
    const app = await createTestApp();
    try {
      const token = await createGroup(app, "plain");
      await registerWith(app, "plain", token, { custom: "builtin", lammps: "29 Sep 2021" });
      const error = await errorOf(
        await app.request("POST", "/api/v1/tasks", {
          json: { simulator: "gromacs", commands: [["gmx", "mdrun"]], machineGroup: "plain" },
        }),
        409,
      );
      assert.equal(error.code, "SIMULATOR_UNAVAILABLE");
      assert.match(error.message, /no machine of group plain has gromacs/);
      assert.match(error.message, /reported: custom, lammps/);
      const listed = await json<{ tasks: TaskView[] }>(
        await app.request("GET", "/api/v1/tasks"),
        200,
      );
      assert.equal(listed.tasks.length, 0, "nothing was created");
      // custom, and commands run in a container, need no simulator on the machines.
      await submit(app, { machineGroup: "plain" });
      const boxed = await submit(app, {
        simulator: "gromacs",
        machineGroup: "plain",
        commands: [["podman", "run", "--rm", "gromacs/gromacs", "gmx", "mdrun"]],
      });
      assert.equal(boxed.status, "in-queue");
    } finally {
      await app.close();
    }
  });

  it("refuses a version no machine has, and accepts one that a machine has", async () => {
    const app = await createTestApp();
    try {
      const token = await createGroup(app, "v");
      await registerWith(app, "v", token, { lammps: "29 Sep 2021" });
      const body = { simulator: "lammps", commands: [["lmp", "-in", "in.lj"]], machineGroup: "v" };
      const error = await errorOf(
        await app.request("POST", "/api/v1/tasks", {
          json: { ...body, simulatorVersion: "2 Aug 2023" },
        }),
        409,
      );
      assert.equal(error.code, "SIMULATOR_UNAVAILABLE");
      assert.match(error.message, /they have 29 Sep 2021/);
      const ok = await submit(app, { ...body, simulatorVersion: "29 Sep 2021" });
      assert.equal(ok.status, "in-queue");
    } finally {
      await app.close();
    }
  });

  it("accepts a task for a group with no machine registered yet, and records the version of the machine that claims it", async () => {
    const app = await createTestApp();
    try {
      const token = await createGroup(app, "fresh");
      const task = await submit(app, {
        simulator: "calculix",
        commands: [["ccx", "-i", "beam"]],
        machineGroup: "fresh",
      });
      assert.equal(task.status, "in-queue");
      assert.equal(task.simulatorVersion, undefined);
      const machineId = await registerWith(app, "fresh", token, { calculix: "2.20" });
      const claimed = await json<{ task: TaskView }>(
        await app.request("POST", "/api/v1/runner/claim", {
          token,
          json: { machineId, waitMs: 0 },
        }),
        200,
      );
      assert.equal(claimed.task.simulatorVersion, "2.20");
      const info = await json<TaskView>(await app.request("GET", `/api/v1/tasks/${task.id}`), 200);
      assert.equal(info.simulatorVersion, "2.20", "tasks info shows the version that runs");
    } finally {
      await app.close();
    }
  });
});
