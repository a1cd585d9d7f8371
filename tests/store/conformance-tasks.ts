// Conformance: creating tasks, the transition table, guards, history and patches.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TASK_STATUSES, TRANSITIONS } from "../../src/domain/task-status.js";
import {
  PATH_TO,
  assertNoNulls,
  driveTo,
  newTask,
  rejectsWith,
  tick,
  type StoreContext,
} from "./conformance-support.js";

const UNKNOWN_ID = "000000000000000";

export function describeTasks(ctx: StoreContext): void {
  describe("tasks", () => {
    it("createTask stores a pending-input task with its first history entry, and getTask reads it back", async () => {
      const input = newTask({ env: { A: "1" }, simulatorVersion: "2024.1", killGraceMs: 250 });
      const created = await ctx.store.createTask(input);
      assert.deepEqual(created, {
        id: input.id,
        owner: "alice",
        project: "default",
        simulator: "custom",
        simulatorVersion: "2024.1",
        commands: [["echo", "hi"]],
        machineGroup: "g",
        status: "pending-input",
        statusHistory: [{ status: "pending-input", at: input.createdAt, reason: "task created" }],
        createdAt: input.createdAt,
        attempt: 1,
        metrics: {},
        env: { A: "1" },
        killGraceMs: 250,
      });
      assertNoNulls(created);
      assert.deepEqual(await ctx.store.getTask(input.id), created);
    });

    it("getTask of an unknown id is undefined and createTask with a taken id is INVALID_INPUT", async () => {
      assert.equal(await ctx.store.getTask(UNKNOWN_ID), undefined);
      const input = newTask();
      await ctx.store.createTask(input);
      await rejectsWith(ctx.store.createTask({ ...input, owner: "mallory" }), "INVALID_INPUT");
      assert.equal((await ctx.store.getTask(input.id))?.owner, "alice");
    });

    it("allows every transition of TRANSITIONS and rejects every other one without a change", async () => {
      for (const from of TASK_STATUSES) {
        for (const to of TASK_STATUSES) {
          const task = await ctx.store.createTask(newTask());
          await driveTo(ctx.store, task.id, PATH_TO[from]);
          const before = await ctx.store.getTask(task.id);
          assert.equal(before?.status, from);
          const attempt = ctx.store.transitionTask(task.id, { to, at: tick(), reason: "test" });
          if (TRANSITIONS[from].includes(to)) {
            const after = await attempt;
            assert.equal(after.status, to, `${from} → ${to} is allowed`);
            assert.equal(after.statusHistory.length, (before?.statusHistory.length ?? 0) + 1);
          } else {
            await rejectsWith(attempt, "INVALID_TRANSITION");
            assert.deepEqual(
              await ctx.store.getTask(task.id),
              before,
              `${from} → ${to} changed nothing`,
            );
          }
        }
      }
    });

    it("appends one history entry per transition with its time, reason, detail and machine", async () => {
      const task = await ctx.store.createTask(newTask());
      await ctx.store.transitionTask(task.id, { to: "in-queue", at: 10, reason: "input uploaded" });
      const claimed = await ctx.store.transitionTask(task.id, {
        to: "submitted",
        at: 20,
        reason: "claimed by machine m9",
        detail: "lease-granted",
        machineId: "m9",
        patch: { machine: { id: "m9", host: "h9" }, leaseExpiresAt: 30 },
      });
      assert.deepEqual(claimed.statusHistory, [
        { status: "pending-input", at: task.createdAt, reason: "task created" },
        { status: "in-queue", at: 10, reason: "input uploaded" },
        {
          status: "submitted",
          at: 20,
          reason: "claimed by machine m9",
          detail: "lease-granted",
          machineId: "m9",
        },
      ]);
      assert.deepEqual(claimed.machine, { id: "m9", host: "h9" });
      assert.equal(claimed.leaseExpiresAt, 30);
    });

    it("a guarded transition on a finished task is TASK_ALREADY_FINISHED", async () => {
      for (const terminal of ["success", "failed", "killed"] as const) {
        const task = await ctx.store.createTask(newTask());
        await driveTo(ctx.store, task.id, PATH_TO[terminal]);
        await rejectsWith(
          ctx.store.transitionTask(task.id, {
            to: "killed",
            at: tick(),
            reason: "user asked",
            expect: { fromStatuses: ["pending-input", "in-queue", "submitted", "started"] },
          }),
          "TASK_ALREADY_FINISHED",
        );
        assert.equal((await ctx.store.getTask(task.id))?.status, terminal);
      }
    });

    it("a guarded transition from another live status is INVALID_TRANSITION and changes nothing", async () => {
      const task = await ctx.store.createTask(newTask());
      await driveTo(ctx.store, task.id, ["in-queue"]);
      const before = await ctx.store.getTask(task.id);
      await rejectsWith(
        ctx.store.transitionTask(task.id, {
          to: "killed",
          at: tick(),
          reason: "x",
          expect: { fromStatuses: ["pending-input"] },
        }),
        "INVALID_TRANSITION",
      );
      assert.deepEqual(await ctx.store.getTask(task.id), before);
      const ok = await ctx.store.transitionTask(task.id, {
        to: "killed",
        at: tick(),
        reason: "x",
        expect: { fromStatuses: ["pending-input", "in-queue"] },
      });
      assert.equal(ok.status, "killed");
    });

    it("a transition guarded by a machine that does not hold the task is LEASE_LOST", async () => {
      const task = await ctx.store.createTask(newTask());
      await driveTo(ctx.store, task.id, ["in-queue", "submitted"]);
      const before = await ctx.store.getTask(task.id);
      const guarded = (machineId: string) =>
        ctx.store.transitionTask(task.id, {
          to: "started",
          at: tick(),
          reason: "command started",
          expect: { fromStatuses: ["submitted"], machineId },
        });
      await rejectsWith(guarded("m2"), "LEASE_LOST");
      assert.deepEqual(await ctx.store.getTask(task.id), before);
      await ctx.store.transitionTask(task.id, {
        to: "in-queue",
        at: tick(),
        reason: "lease expired",
        patch: { machine: null, leaseExpiresAt: null },
      });
      await rejectsWith(guarded("m1"), "LEASE_LOST");
    });

    it("a transition guarded by the machine that holds the task succeeds", async () => {
      const task = await ctx.store.createTask(newTask());
      await driveTo(ctx.store, task.id, ["in-queue", "submitted"]);
      const started = await ctx.store.transitionTask(task.id, {
        to: "started",
        at: tick(),
        reason: "command started",
        machineId: "m1",
        expect: { fromStatuses: ["submitted"], machineId: "m1" },
        patch: { startedAt: 77 },
      });
      assert.equal(started.status, "started");
      assert.equal(started.startedAt, 77);
      assert.equal(started.statusHistory.at(-1)?.machineId, "m1");
    });

    it("transitioning or patching an unknown task is TASK_NOT_FOUND", async () => {
      await rejectsWith(
        ctx.store.transitionTask(UNKNOWN_ID, { to: "killed", at: 1, reason: "x" }),
        "TASK_NOT_FOUND",
      );
      await rejectsWith(ctx.store.patchTask(UNKNOWN_ID, { reason: "x" }), "TASK_NOT_FOUND");
    });

    it("a transition applies its patch, and null clears a field", async () => {
      const task = await ctx.store.createTask(newTask());
      await driveTo(ctx.store, task.id, ["in-queue", "submitted", "started"]);
      const ended = await ctx.store.transitionTask(task.id, {
        to: "failed",
        at: tick(),
        reason: "exit code 2",
        patch: {
          exitCode: 2,
          signal: "SIGTERM",
          reason: "exit code 2",
          endedAt: 99,
          leaseExpiresAt: null,
          metrics: { computationMs: 5 },
        },
      });
      assert.equal(ended.exitCode, 2);
      assert.equal(ended.signal, "SIGTERM");
      assert.equal(ended.reason, "exit code 2");
      assert.equal(ended.endedAt, 99);
      assert.equal(ended.leaseExpiresAt, undefined);
      assert.deepEqual(ended.machine, { id: "m1", host: "h1" }, "a patch without machine keeps it");
      assert.deepEqual(ended.metrics, { computationMs: 5 });
      assertNoNulls(ended);
    });

    it("patchTask: null clears a field, metrics merge, other fields stay, and no history is added", async () => {
      const task = await ctx.store.createTask(newTask());
      await ctx.store.patchTask(task.id, {
        reason: "r",
        exitCode: 3,
        killRequestedAt: 5,
        inputUploadedAt: 4,
        attempt: 2,
        metrics: { inputBytes: 5, inputFiles: 1 },
      });
      const patched = await ctx.store.patchTask(task.id, {
        reason: null,
        killRequestedAt: null,
        metrics: { inputFiles: 2, queueMs: 7 },
      });
      assert.equal(patched.reason, undefined);
      assert.equal(patched.killRequestedAt, undefined);
      assert.equal(patched.exitCode, 3);
      assert.equal(patched.inputUploadedAt, 4);
      assert.equal(patched.attempt, 2);
      assert.equal(patched.status, "pending-input");
      assert.deepEqual(patched.metrics, { inputBytes: 5, inputFiles: 2, queueMs: 7 });
      assert.equal(patched.statusHistory.length, 1, "a patch adds no history");
      assertNoNulls(patched);
      assert.deepEqual(await ctx.store.getTask(task.id), patched);
    });

    it("patchTask records the simulator version that runs the task, over the one asked for", async () => {
      const task = await ctx.store.createTask(newTask({ simulatorVersion: "2022" }));
      const patched = await ctx.store.patchTask(task.id, { simulatorVersion: "2022.5-Debian" });
      assert.equal(patched.simulatorVersion, "2022.5-Debian");
      assert.deepEqual(await ctx.store.getTask(task.id), patched);
    });
  });
}
