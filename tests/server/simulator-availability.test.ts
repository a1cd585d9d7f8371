import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TaskView } from "../../src/protocol/tasks.js";
import { createTestApp } from "../helpers/app-harness.js";
import { createGroup, errorOf, json, registerMachine, submit } from "../helpers/protocol.js";

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

  it("in a group of unlike machines each takes the tasks it can run, and one no machine has once it heads the queue", async () => {
    const app = await createTestApp();
    try {
      const token = await createGroup(app, "mixed");
      // Submitted before any machine registered, so none is refused at submit.
      const queued = [];
      for (const [simulator, program] of [
        ["gromacs", "gmx"],
        ["lammps", "lmp"],
        ["custom", "true"],
        ["calculix", "ccx"],
        ["lammps", "lmp"],
      ] as const) {
        queued.push(await submit(app, { simulator, commands: [[program]], machineGroup: "mixed" }));
      }
      const [gromacs, lammps, custom, calculix, lammps2] = queued.map((task) => task.id);
      const lmpMachine = await registerMachine(app, "mixed", token, undefined, { lammps: "2021" });
      const gmxMachine = await registerMachine(app, "mixed", token, undefined, { gromacs: "2022" });
      const runOne = async (machine: typeof lmpMachine): Promise<string | undefined> => {
        const task = await machine.claim();
        if (task !== undefined) {
          await json(await machine.started(task.id), 200);
          await json(await machine.finish(task.id, { outcome: "exited", exitCode: 0 }), 200);
        }
        return task?.id;
      };
      // The head (gromacs) waits for the machine that has GROMACS; the other goes on behind it.
      assert.equal(await runOne(lmpMachine), lammps);
      assert.equal(await runOne(lmpMachine), custom);
      assert.equal(await runOne(lmpMachine), lammps2, "past the calculix task too");
      assert.equal(await runOne(lmpMachine), undefined, "nothing left it can run");
      assert.equal(await runOne(gmxMachine), gromacs);
      // No live machine has CalculiX: the first to claim takes it (and its runner fails it).
      assert.equal(await runOne(lmpMachine), calculix);
      const statuses = await Promise.all(
        queued.map(async (task) => {
          const view = await json<TaskView>(
            await app.request("GET", `/api/v1/tasks/${task.id}`),
            200,
          );
          return view.status;
        }),
      );
      assert.deepEqual(statuses, Array(5).fill("success"));
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
