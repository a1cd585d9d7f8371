// The executable spec of TaskStore: every adapter runs this suite unchanged.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FlotillaError } from "../../src/domain/errors.js";
import { createId } from "../../src/domain/ids.js";
import { TASK_STATUSES, TRANSITIONS, type TaskStatus } from "../../src/domain/task-status.js";
import type { NewTask, TaskStore } from "../../src/store/task-store.js";

export type OpenStore = () => Promise<{
  store: TaskStore;
  reopen: () => Promise<TaskStore>;
  cleanup: () => Promise<void>;
}>;

let clock = 1_700_000_000_000;
const tick = (): number => (clock += 1);

function newTask(overrides: Partial<NewTask> = {}): NewTask {
  const at = tick();
  return {
    id: createId(at),
    owner: "alice",
    project: "default",
    simulator: "custom",
    commands: [["echo", "hi"]],
    machineGroup: "g",
    env: {},
    killGraceMs: 1000,
    createdAt: at,
    ...overrides,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(
    promise,
    (error: unknown) => error instanceof FlotillaError && error.code === code,
  );
}

/** Drives a task along a path of statuses from pending-input. */
async function driveTo(store: TaskStore, id: string, path: readonly TaskStatus[]): Promise<void> {
  for (const status of path) {
    const patch =
      status === "submitted"
        ? { machine: { id: "m1", host: "h" }, leaseExpiresAt: tick() + 60_000 }
        : {};
    await store.transitionTask(id, { to: status, at: tick(), reason: `to ${status}`, patch });
  }
}

/** A path from pending-input to each status. */
const PATH_TO: Record<TaskStatus, readonly TaskStatus[]> = {
  "pending-input": [],
  "in-queue": ["in-queue"],
  submitted: ["in-queue", "submitted"],
  started: ["in-queue", "submitted", "started"],
  success: ["in-queue", "submitted", "started", "success"],
  failed: ["failed"],
  killed: ["killed"],
};

export function runStoreConformance(name: string, open: OpenStore): void {
  describe(`TaskStore conformance: ${name}`, () => {
    let store: TaskStore;
    let reopen: () => Promise<TaskStore>;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, reopen, cleanup } = await open());
    });
    after(async () => cleanup());

    it("creates a task in pending-input with its first history entry, and reads it back", async () => {
      const input = newTask({ env: { A: "1" }, simulatorVersion: "1.0" });
      const created = await store.createTask(input);
      assert.equal(created.status, "pending-input");
      assert.equal(created.attempt, 1);
      assert.deepEqual(created.statusHistory, [
        { status: "pending-input", at: input.createdAt, reason: "task created" },
      ]);
      assert.deepEqual(await store.getTask(input.id), created);
      assert.deepEqual(created.env, { A: "1" });
      assert.equal(await store.getTask("000000000000000"), undefined);
      await rejectsWith(store.createTask(input), "INVALID_INPUT");
    });

    it("allows every transition of the table and rejects every other one", async () => {
      for (const from of TASK_STATUSES) {
        for (const to of TASK_STATUSES) {
          const task = await store.createTask(newTask());
          await driveTo(store, task.id, PATH_TO[from]);
          const attempt = store.transitionTask(task.id, { to, at: tick(), reason: "test" });
          if (TRANSITIONS[from].includes(to)) {
            assert.equal((await attempt).status, to, `${from} → ${to} is allowed`);
          } else {
            await rejectsWith(attempt, "INVALID_TRANSITION");
            assert.equal(
              (await store.getTask(task.id))?.status,
              from,
              `${from} → ${to} changed nothing`,
            );
          }
        }
      }
    });

    it("appends history with time, reason, detail and machine", async () => {
      const task = await store.createTask(newTask());
      await store.transitionTask(task.id, { to: "in-queue", at: 10, reason: "input uploaded" });
      const claimed = await store.transitionTask(task.id, {
        to: "submitted",
        at: 20,
        reason: "claimed",
        detail: "d",
        machineId: "m9",
        patch: { machine: { id: "m9", host: "h9" } },
      });
      assert.deepEqual(claimed.statusHistory.slice(1), [
        { status: "in-queue", at: 10, reason: "input uploaded" },
        { status: "submitted", at: 20, reason: "claimed", detail: "d", machineId: "m9" },
      ]);
      assert.deepEqual(claimed.machine, { id: "m9", host: "h9" });
    });

    it("checks expectations atomically: finished tasks, wrong statuses and lost leases", async () => {
      const done = await store.createTask(newTask());
      await driveTo(store, done.id, ["killed"]);
      await rejectsWith(
        store.transitionTask(done.id, {
          to: "failed",
          at: tick(),
          reason: "x",
          expect: { fromStatuses: ["started"] },
        }),
        "TASK_ALREADY_FINISHED",
      );
      const queued = await store.createTask(newTask());
      await driveTo(store, queued.id, ["in-queue"]);
      await rejectsWith(
        store.transitionTask(queued.id, {
          to: "killed",
          at: tick(),
          reason: "x",
          expect: { fromStatuses: ["pending-input"] },
        }),
        "INVALID_TRANSITION",
      );
      await driveTo(store, queued.id, ["submitted"]);
      await rejectsWith(
        store.transitionTask(queued.id, {
          to: "started",
          at: tick(),
          reason: "x",
          expect: { machineId: "other" },
        }),
        "LEASE_LOST",
      );
      assert.equal((await store.getTask(queued.id))?.status, "submitted");
      await rejectsWith(
        store.transitionTask("000000000000000", { to: "killed", at: 1, reason: "x" }),
        "TASK_NOT_FOUND",
      );
    });

    it("patches: null clears a field, metrics merge", async () => {
      const task = await store.createTask(newTask());
      await store.patchTask(task.id, {
        reason: "r",
        exitCode: 3,
        metrics: { inputBytes: 5, inputFiles: 1 },
      });
      const merged = await store.patchTask(task.id, {
        reason: null,
        metrics: { inputFiles: 2, queueMs: 7 },
      });
      assert.equal(merged.reason, undefined);
      assert.equal(merged.exitCode, 3);
      assert.deepEqual(merged.metrics, { inputBytes: 5, inputFiles: 2, queueMs: 7 });
      assert.equal(merged.statusHistory.length, 1, "a patch adds no history");
    });

    it("claims in FIFO order per group, leaves other groups alone, and says when the queue is empty", async () => {
      const group = `fifo-${createId()}`;
      const other = `other-${createId()}`;
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const task = await store.createTask(newTask({ machineGroup: group }));
        await driveTo(store, task.id, ["in-queue"]);
        ids.push(task.id);
      }
      const elsewhere = await store.createTask(newTask({ machineGroup: other }));
      await driveTo(store, elsewhere.id, ["in-queue"]);
      const claimed: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const task = await store.claimNextTask(
          group,
          { id: "m1", host: "h" },
          tick(),
          tick() + 1000,
        );
        assert.equal(task?.status, "submitted");
        assert.deepEqual(task?.machine, { id: "m1", host: "h" });
        assert.equal(task?.statusHistory.at(-1)?.machineId, "m1");
        if (task !== undefined) claimed.push(task.id);
      }
      assert.deepEqual(claimed, ids);
      assert.equal(
        await store.claimNextTask(group, { id: "m1", host: "h" }, tick(), tick()),
        undefined,
      );
      assert.equal((await store.getTask(elsewhere.id))?.status, "in-queue");
    });

    it("a task that returns to the queue keeps its original place", async () => {
      const group = `requeue-${createId()}`;
      const first = await store.createTask(newTask({ machineGroup: group }));
      await driveTo(store, first.id, ["in-queue"]);
      const second = await store.createTask(newTask({ machineGroup: group }));
      await driveTo(store, second.id, ["in-queue"]);
      const claimed = await store.claimNextTask(
        group,
        { id: "m1", host: "h" },
        tick(),
        tick() + 1000,
      );
      assert.equal(claimed?.id, first.id);
      const third = await store.createTask(newTask({ machineGroup: group }));
      await driveTo(store, third.id, ["in-queue"]);
      const back = await store.transitionTask(first.id, {
        to: "in-queue",
        at: tick(),
        reason: "lost",
        patch: { attempt: 2, machine: null },
      });
      assert.equal(back.queuePosition, 0);
      assert.equal(back.machine, undefined);
      assert.equal((await store.getTask(second.id))?.queuePosition, 1);
      assert.equal((await store.getTask(third.id))?.queuePosition, 2);
      assert.equal(
        (await store.claimNextTask(group, { id: "m2", host: "h" }, tick(), tick()))?.id,
        first.id,
      );
    });

    it("reports queue position only while in-queue, counting tasks of the same group ahead", async () => {
      const group = `pos-${createId()}`;
      const a = await store.createTask(newTask({ machineGroup: group }));
      const b = await store.createTask(newTask({ machineGroup: group }));
      assert.equal((await store.getTask(a.id))?.queuePosition, undefined);
      await driveTo(store, a.id, ["in-queue"]);
      await driveTo(store, b.id, ["in-queue"]);
      assert.equal((await store.getTask(a.id))?.queuePosition, 0);
      assert.equal((await store.getTask(b.id))?.queuePosition, 1);
      await store.transitionTask(a.id, { to: "killed", at: tick(), reason: "x" });
      assert.equal((await store.getTask(a.id))?.queuePosition, undefined);
      assert.equal((await store.getTask(b.id))?.queuePosition, 0);
      assert.equal(await store.countQueued(group), 1);
    });

    it("hands each queued task to exactly one of many concurrent claimers", async () => {
      const group = `race-${createId()}`;
      for (let i = 0; i < 50; i += 1) {
        const task = await store.createTask(newTask({ machineGroup: group }));
        await driveTo(store, task.id, ["in-queue"]);
      }
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          store.claimNextTask(group, { id: `m${i}`, host: "h" }, tick(), tick() + 1000),
        ),
      );
      const claimed = results.filter((task) => task !== undefined).map((task) => task.id);
      assert.equal(claimed.length, 50);
      assert.equal(new Set(claimed).size, 50);
    });

    it("renews leases only for the machine that holds a live task, and lists expired ones", async () => {
      const group = `lease-${createId()}`;
      const task = await store.createTask(newTask({ machineGroup: group }));
      await driveTo(store, task.id, ["in-queue"]);
      await store.claimNextTask(group, { id: "m1", host: "h" }, 100, 200);
      assert.ok((await store.listExpiredLeases(201)).some((t) => t.id === task.id));
      const renewed = await store.renewLease(task.id, "m1", Number.MAX_SAFE_INTEGER);
      assert.equal(renewed.leaseExpiresAt, Number.MAX_SAFE_INTEGER);
      assert.ok(!(await store.listExpiredLeases(Date.now())).some((t) => t.id === task.id));
      await rejectsWith(store.renewLease(task.id, "m2", 1), "LEASE_LOST");
      await store.transitionTask(task.id, { to: "failed", at: tick(), reason: "x" });
      await rejectsWith(store.renewLease(task.id, "m1", 1), "LEASE_LOST");
    });

    it("lists active tasks of a group, oldest first", async () => {
      const group = `active-${createId()}`;
      const a = await store.createTask(newTask({ machineGroup: group }));
      const b = await store.createTask(newTask({ machineGroup: group }));
      const c = await store.createTask(newTask({ machineGroup: group }));
      await driveTo(store, b.id, ["killed"]);
      assert.deepEqual(
        (await store.listActiveTasks(group)).map((t) => t.id),
        [a.id, c.id],
      );
    });

    it("lists newest first with every filter and pages with a cursor, without gaps or repeats", async () => {
      const project = `list-${createId()}`;
      const ids: string[] = [];
      for (let i = 0; i < 7; i += 1) {
        const task = await store.createTask(
          newTask({
            project,
            owner: i % 2 === 0 ? "bob" : "carol",
            machineGroup: i < 4 ? "x" : "y",
          }),
        );
        if (i % 3 === 0) await driveTo(store, task.id, ["in-queue"]);
        ids.push(task.id);
      }
      const newest = [...ids].reverse();
      const all = await store.listTasks({ project, limit: 100 });
      assert.deepEqual(
        all.tasks.map((t) => t.id),
        newest,
      );
      assert.equal(all.nextCursor, undefined);
      assert.deepEqual(
        (await store.listTasks({ project, owner: "bob", limit: 100 })).tasks.map((t) => t.id),
        newest.filter((_, i) => (6 - i) % 2 === 0),
      );
      assert.equal(
        (await store.listTasks({ project, statuses: ["in-queue"], limit: 100 })).tasks.length,
        3,
      );
      assert.equal(
        (await store.listTasks({ project, statuses: ["in-queue", "pending-input"], limit: 100 }))
          .tasks.length,
        7,
      );
      assert.equal(
        (await store.listTasks({ project, machineGroup: "y", limit: 100 })).tasks.length,
        3,
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listTasks({ project, limit: 3, cursor });
        assert.ok(page.tasks.length <= 3);
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      assert.deepEqual(seen, newest);
      await rejectsWith(store.listTasks({ limit: 3, cursor: "not-a-cursor!" }), "INVALID_INPUT");
      await rejectsWith(store.listTasks({ limit: 3, cursor: "Zm9v" }), "INVALID_INPUT");
    });

    it("lists projects with task counts, per owner", async () => {
      const owner = `owner-${createId()}`;
      await store.createTask(newTask({ owner, project: "p1" }));
      await store.createTask(newTask({ owner, project: "p1" }));
      await store.createTask(newTask({ owner, project: "p2" }));
      assert.deepEqual(await store.listProjects(owner), [
        { name: "p1", taskCount: 2 },
        { name: "p2", taskCount: 1 },
      ]);
      assert.ok((await store.listProjects()).length >= 2);
    });

    it("keeps machine group names unique while live, and lets a terminated one be replaced", async () => {
      const name = `mg-${createId()}`;
      const group = await store.createMachineGroup({
        name,
        owner: "alice",
        provider: "local",
        numMachines: 2,
        options: { a: 1 },
        createdAt: tick(),
      });
      assert.equal(group.status, "running");
      assert.deepEqual(await store.getMachineGroup(name), group);
      await rejectsWith(
        store.createMachineGroup({
          name,
          owner: "alice",
          provider: "local",
          numMachines: 1,
          options: {},
          createdAt: tick(),
        }),
        "MACHINE_GROUP_EXISTS",
      );
      const terminated = await store.setMachineGroupStatus(name, "terminated", 42);
      assert.equal(terminated.terminatedAt, 42);
      const again = await store.createMachineGroup({
        name,
        owner: "bob",
        provider: "local",
        numMachines: 1,
        options: {},
        createdAt: tick(),
      });
      assert.equal(again.owner, "bob");
      assert.ok((await store.listMachineGroups("bob")).some((g) => g.name === name));
      assert.ok(!(await store.listMachineGroups("alice")).some((g) => g.name === name));
      await rejectsWith(
        store.setMachineGroupStatus("no-such-group", "terminated", 1),
        "MACHINE_GROUP_NOT_FOUND",
      );
    });

    it("registers and updates machines, and marks a machine busy when it claims", async () => {
      const group = `mach-${createId()}`;
      const machine = await store.createMachine({
        id: createId(),
        machineGroup: group,
        host: "h",
        pid: 7,
        simulators: { custom: "builtin" },
        at: 5,
      });
      assert.equal(machine.status, "idle");
      assert.deepEqual(await store.getMachine(machine.id), machine);
      const task = await store.createTask(newTask({ machineGroup: group }));
      await driveTo(store, task.id, ["in-queue"]);
      await store.claimNextTask(group, { id: machine.id, host: "h" }, tick(), tick() + 1000);
      const busy = await store.getMachine(machine.id);
      assert.equal(busy?.status, "busy");
      assert.equal(busy?.taskId, task.id);
      const idle = await store.updateMachine(machine.id, {
        status: "idle",
        taskId: null,
        simulators: { custom: "builtin", gmx: "2022" },
      });
      assert.equal(idle.taskId, undefined);
      assert.deepEqual(idle.simulators, { custom: "builtin", gmx: "2022" });
      assert.deepEqual(
        (await store.listMachines(group)).map((m) => m.id),
        [machine.id],
      );
      await rejectsWith(store.updateMachine("nope", { status: "idle" }), "MACHINE_NOT_FOUND");
    });

    it("finds users by token hash until they are revoked", async () => {
      const id = `u-${createId()}`;
      await store.createUser({
        id,
        name: "dana",
        role: "user",
        tokenHash: `hash-${id}`,
        createdAt: 1,
      });
      assert.equal((await store.findUserByTokenHash(`hash-${id}`))?.name, "dana");
      assert.ok((await store.listUsers()).some((u) => u.id === id));
      await store.revokeUser(id, 2);
      assert.equal(await store.findUserByTokenHash(`hash-${id}`), undefined);
      assert.equal((await store.listUsers()).find((u) => u.id === id)?.revokedAt, 2);
    });

    it("keeps everything across close and reopen", async () => {
      const task = await store.createTask(newTask());
      await driveTo(store, task.id, ["in-queue"]);
      const before = await store.getTask(task.id);
      await store.close();
      store = await reopen();
      assert.deepEqual(await store.getTask(task.id), before);
    });
  });
}
