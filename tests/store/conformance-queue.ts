// Conformance: the queue of each machine group, claims, positions, leases and active tasks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  claim,
  driveTo,
  newTask,
  queueTask,
  rejectsWith,
  tick,
  unique,
  type StoreContext,
} from "./conformance-support.js";

export function describeQueue(ctx: StoreContext): void {
  describe("queue and leases", () => {
    it("claimNextTask hands out a group's tasks in FIFO order and leaves other groups alone", async () => {
      const group = unique("fifo");
      const other = unique("other");
      const queued = [];
      for (let i = 0; i < 3; i += 1) queued.push(await queueTask(ctx.store, group));
      const elsewhere = await queueTask(ctx.store, other);
      const claimed = [];
      for (let i = 0; i < 3; i += 1) claimed.push((await claim(ctx.store, group))?.id);
      assert.deepEqual(
        claimed,
        queued.map((task) => task.id),
      );
      assert.equal(await claim(ctx.store, group), undefined, "an empty queue gives undefined");
      assert.equal((await ctx.store.getTask(elsewhere.id))?.status, "in-queue");
      assert.equal(await ctx.store.countQueued(other), 1);
    });

    it("a claimed task is submitted, leased to the machine, with a history entry naming it", async () => {
      const group = unique("lease");
      const task = await queueTask(ctx.store, group);
      const claimed = await ctx.store.claimNextTask(group, { id: "m7", host: "node7" }, 500, 900);
      assert.equal(claimed?.id, task.id);
      assert.equal(claimed.status, "submitted");
      assert.deepEqual(claimed.machine, { id: "m7", host: "node7" });
      assert.equal(claimed.leaseExpiresAt, 900);
      assert.equal(claimed.attempt, 1);
      assert.equal(claimed.queuePosition, undefined);
      assert.deepEqual(claimed.statusHistory.at(-1), {
        status: "submitted",
        at: 500,
        reason: "claimed by machine m7",
        machineId: "m7",
      });
      assert.deepEqual(await ctx.store.getTask(task.id), claimed);
    });

    it("claimNextTask applies the patch patchFor gives for the claimed task, in the same write", async () => {
      const group = unique("patchfor");
      const task = await queueTask(ctx.store, group);
      const seen: string[] = [];
      const claimed = await ctx.store.claimNextTask(
        group,
        { id: "m8", host: "node8" },
        600,
        950,
        (chosen) => {
          seen.push(`${chosen.id}:${chosen.status}`);
          return { metrics: { queueMs: 42 }, simulatorVersion: "9.9" };
        },
      );
      assert.deepEqual(seen, [`${task.id}:submitted`]);
      assert.equal(claimed?.metrics.queueMs, 42);
      assert.equal(claimed.simulatorVersion, "9.9");
      assert.equal(claimed.status, "submitted");
      assert.deepEqual(await ctx.store.getTask(task.id), claimed);
      const none = await ctx.store.claimNextTask(group, { id: "m8", host: "node8" }, 700, 990, () =>
        assert.fail("patchFor is not called when the queue is empty"),
      );
      assert.equal(none, undefined);
    });

    it("queue order is the order tasks entered the queue, not the order they were created", async () => {
      const group = unique("order");
      const early = await ctx.store.createTask(newTask({ machineGroup: group }));
      const late = await queueTask(ctx.store, group);
      await driveTo(ctx.store, early.id, ["in-queue"]);
      assert.equal((await claim(ctx.store, group))?.id, late.id);
      assert.equal((await claim(ctx.store, group))?.id, early.id);
    });

    it("a task that returns to the queue keeps its place ahead of tasks queued after it", async () => {
      const group = unique("requeue");
      const first = await queueTask(ctx.store, group);
      const second = await queueTask(ctx.store, group);
      assert.equal((await claim(ctx.store, group))?.id, first.id);
      const third = await queueTask(ctx.store, group);
      const back = await ctx.store.transitionTask(first.id, {
        to: "in-queue",
        at: tick(),
        reason: "lease expired",
        patch: { attempt: 2, machine: null, leaseExpiresAt: null },
      });
      assert.equal(back.queuePosition, 0);
      assert.equal(back.attempt, 2);
      assert.equal(back.machine, undefined);
      assert.equal((await ctx.store.getTask(second.id))?.queuePosition, 1);
      assert.equal((await ctx.store.getTask(third.id))?.queuePosition, 2);
      const order = [];
      for (let i = 0; i < 3; i += 1) order.push((await claim(ctx.store, group, "m2"))?.id);
      assert.deepEqual(order, [first.id, second.id, third.id]);
    });

    it("queuePosition counts only in-queue tasks of the same group ahead, and is absent otherwise", async () => {
      const group = unique("pos");
      await queueTask(ctx.store, unique("elsewhere"));
      const waiting = await ctx.store.createTask(newTask({ machineGroup: group }));
      const running = await queueTask(ctx.store, group);
      await claim(ctx.store, group);
      const a = await queueTask(ctx.store, group);
      const b = await queueTask(ctx.store, group);
      const c = await queueTask(ctx.store, group);
      const positions = async () =>
        Promise.all(
          [waiting, running, a, b, c].map(
            async (t) => (await ctx.store.getTask(t.id))?.queuePosition,
          ),
        );
      assert.deepEqual(await positions(), [undefined, undefined, 0, 1, 2]);
      await ctx.store.transitionTask(b.id, { to: "killed", at: tick(), reason: "user asked" });
      assert.deepEqual(await positions(), [undefined, undefined, 0, undefined, 1]);
      assert.equal(await ctx.store.countQueued(group), 2);
      assert.equal(await ctx.store.countQueued(unique("empty")), 0);
    });

    it("hands each queued task to exactly one of many concurrent claimers", async () => {
      const group = unique("race");
      for (let i = 0; i < 50; i += 1) await queueTask(ctx.store, group);
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => claim(ctx.store, group, `racer-${i}`)),
      );
      const claimed = results.filter((task) => task !== undefined);
      assert.equal(claimed.length, 50);
      assert.equal(new Set(claimed.map((task) => task.id)).size, 50);
      assert.equal(new Set(claimed.map((task) => task.machine?.id)).size, 50);
      assert.equal(await ctx.store.countQueued(group), 0);
    });

    it("renewLease extends the lease of the holding machine only, while the task is on it", async () => {
      const group = unique("renew");
      const task = await queueTask(ctx.store, group);
      await rejectsWith(ctx.store.renewLease(task.id, "m1", 1), "LEASE_LOST");
      await ctx.store.claimNextTask(group, { id: "m1", host: "h" }, 100, 200);
      const renewed = await ctx.store.renewLease(task.id, "m1", 5000);
      assert.equal(renewed.leaseExpiresAt, 5000);
      assert.equal(renewed.status, "submitted");
      assert.equal(renewed.statusHistory.length, 3, "renewing adds no history");
      await rejectsWith(ctx.store.renewLease(task.id, "m2", 6000), "LEASE_LOST");
      await driveTo(ctx.store, task.id, ["started"]);
      assert.equal((await ctx.store.renewLease(task.id, "m1", 7000)).leaseExpiresAt, 7000);
      await ctx.store.transitionTask(task.id, { to: "success", at: tick(), reason: "exit code 0" });
      await rejectsWith(ctx.store.renewLease(task.id, "m1", 8000), "LEASE_LOST");
      await rejectsWith(ctx.store.renewLease("000000000000000", "m1", 1), "TASK_NOT_FOUND");
    });

    it("listExpiredLeases lists submitted and started tasks whose lease ended before now", async () => {
      const group = unique("expiry");
      const expiring = await queueTask(ctx.store, group);
      const running = await queueTask(ctx.store, group);
      const finished = await queueTask(ctx.store, group);
      await ctx.store.claimNextTask(group, { id: "m1", host: "h" }, 10, 1000);
      await ctx.store.claimNextTask(group, { id: "m2", host: "h" }, 10, 1000);
      await ctx.store.claimNextTask(group, { id: "m3", host: "h" }, 10, 1000);
      await driveTo(ctx.store, running.id, ["started"]);
      await ctx.store.transitionTask(finished.id, { to: "failed", at: tick(), reason: "x" });
      const expiredAt = async (now: number) =>
        (await ctx.store.listExpiredLeases(now))
          .map((t) => t.id)
          .filter((id) => [expiring.id, running.id, finished.id].includes(id));
      assert.deepEqual(await expiredAt(1000), [], "a lease ending now has not expired");
      assert.deepEqual(await expiredAt(1001), [expiring.id, running.id]);
      await ctx.store.renewLease(running.id, "m2", 5000);
      assert.deepEqual(await expiredAt(1001), [expiring.id]);
    });

    it("claimNextTask with a filter takes the first task of a simulator the machine has, past a head a live machine has", async () => {
      const group = unique("unlike");
      const machine = (id: string, simulators: Record<string, string>) =>
        ctx.store.createMachine({ id, machineGroup: group, host: "h", simulators, at: tick() });
      const lmp = await machine(unique("lmp"), { lammps: "2021" });
      const gmx = await machine(unique("gmx"), { gromacs: "2022" });
      const of = (simulator: string) => queueTask(ctx.store, group, { simulator });
      const head = await of("gromacs");
      const lammps = await of("lammps");
      const custom = await of("custom");
      const take = () => {
        const at = tick();
        return ctx.store.claimNextTask(
          group,
          { id: lmp.id, host: "h" },
          at,
          at + 60_000,
          undefined,
          {
            simulators: ["custom", "lammps"],
          },
        );
      };
      assert.equal((await take())?.id, lammps.id, "the earliest of its own");
      assert.equal((await take())?.id, custom.id);
      assert.equal(await take(), undefined, "the head is the GROMACS machine's");
      assert.equal((await ctx.store.getTask(head.id))?.status, "in-queue");
      // The machine that has GROMACS is lost: the head goes to whoever claims (to fail it).
      await ctx.store.updateMachine(gmx.id, { status: "lost" });
      assert.equal((await take())?.id, head.id);
      // Without a filter the head is taken whatever its simulator, as before.
      const next = await of("gromacs");
      assert.equal((await claim(ctx.store, group))?.id, next.id);
    });

    it("countActiveTasks counts one group's tasks per non-terminal status, 0 for none", async () => {
      const group = unique("counts");
      assert.deepEqual(await ctx.store.countActiveTasks(group), {
        "pending-input": 0,
        "in-queue": 0,
        submitted: 0,
        started: 0,
      });
      await ctx.store.createTask(newTask({ machineGroup: group }));
      for (let i = 0; i < 3; i += 1) await queueTask(ctx.store, group);
      const finished = await queueTask(ctx.store, group);
      await ctx.store.transitionTask(finished.id, { to: "killed", at: tick(), reason: "x" });
      const running = await claim(ctx.store, group);
      assert.ok(running);
      await driveTo(ctx.store, running.id, ["started"]);
      await claim(ctx.store, group);
      await queueTask(ctx.store, unique("not-this-group"));
      assert.deepEqual(await ctx.store.countActiveTasks(group), {
        "pending-input": 1,
        "in-queue": 1,
        submitted: 1,
        started: 1,
      });
      for (let i = 0; i < 4; i += 1) await queueTask(ctx.store, group);
      assert.equal((await ctx.store.countActiveTasks(group))["in-queue"], 5);
      assert.deepEqual(
        await ctx.store.countActiveTasks(group, 3),
        { "pending-input": 1, "in-queue": 3, submitted: 1, started: 1 },
        "each count stops at upTo",
      );
    });

    it("listActiveTasks lists the non-finished tasks of one group, oldest first", async () => {
      const group = unique("active");
      const pending = await ctx.store.createTask(newTask({ machineGroup: group }));
      const killed = await queueTask(ctx.store, group);
      await ctx.store.transitionTask(killed.id, { to: "killed", at: tick(), reason: "x" });
      const claimed = await queueTask(ctx.store, group);
      await claim(ctx.store, group);
      const queued = await queueTask(ctx.store, group);
      await queueTask(ctx.store, unique("not-this-group"));
      const active = await ctx.store.listActiveTasks(group);
      assert.deepEqual(
        active.map((t) => [t.id, t.status]),
        [
          [pending.id, "pending-input"],
          [claimed.id, "submitted"],
          [queued.id, "in-queue"],
        ],
      );
      assert.deepEqual(active[2], await ctx.store.getTask(queued.id), "with history and position");
    });

    it("listTasksOnMachine lists the group's claimed and running tasks of one machine", async () => {
      const group = unique("on-machine");
      await queueTask(ctx.store, group);
      await queueTask(ctx.store, group);
      await queueTask(ctx.store, group);
      await queueTask(ctx.store, group);
      const first = await claim(ctx.store, group, "m-a");
      const second = await claim(ctx.store, group, "m-a");
      await claim(ctx.store, group, "m-b");
      assert.ok(first && second);
      await driveTo(ctx.store, first.id, ["started"]);
      assert.deepEqual(
        (await ctx.store.listTasksOnMachine(group, "m-a")).map((t) => [t.id, t.status]),
        [
          [first.id, "started"],
          [second.id, "submitted"],
        ],
      );
      await ctx.store.transitionTask(second.id, { to: "killed", at: tick(), reason: "x" });
      assert.deepEqual(
        (await ctx.store.listTasksOnMachine(group, "m-a")).map((t) => t.id),
        [first.id],
        "a finished one is not on the machine any more",
      );
      assert.deepEqual(await ctx.store.listTasksOnMachine(unique("other"), "m-a"), []);
      assert.deepEqual(
        (await ctx.store.listTasksOnMachine(group, "m-a"))[0],
        await ctx.store.getTask(first.id),
        "with its history",
      );
    });

    it("claiming marks a registered machine busy with the task", async () => {
      const group = unique("busy");
      const machine = await ctx.store.createMachine({
        id: unique("machine"),
        machineGroup: group,
        host: "h",
        simulators: {},
        at: 5,
      });
      const task = await queueTask(ctx.store, group);
      await ctx.store.claimNextTask(group, { id: machine.id, host: "h" }, 9, 99);
      const busy = await ctx.store.getMachine(machine.id);
      assert.equal(busy?.status, "busy");
      assert.equal(busy.taskId, task.id);
      const unregistered = await queueTask(ctx.store, group);
      assert.equal((await claim(ctx.store, group, "not-registered"))?.id, unregistered.id);
      assert.equal(await ctx.store.getMachine("not-registered"), undefined);
    });
  });
}
