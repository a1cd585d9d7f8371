// Conformance: machine groups, machines, users, and data surviving close and reopen.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NewMachineGroup } from "../../src/store/task-store.js";
import {
  assertNoNulls,
  claim,
  newTask,
  queueTask,
  rejectsWith,
  tick,
  unique,
  type StoreContext,
} from "./conformance-support.js";

const newGroup = (overrides: Partial<NewMachineGroup> = {}): NewMachineGroup => ({
  name: unique("mg"),
  owner: "alice",
  provider: "local",
  numMachines: 2,
  options: { partition: "short", nested: { cpus: 4 } },
  createdAt: tick(),
  ...overrides,
});

export function describeRegistry(ctx: StoreContext): void {
  describe("machine groups, machines and users", () => {
    it("creates a running machine group and reads it back by name and by owner", async () => {
      const input = newGroup({ costPerHour: 0.25 });
      const group = await ctx.store.createMachineGroup(input);
      assert.deepEqual(group, {
        name: input.name,
        owner: "alice",
        provider: "local",
        numMachines: 2,
        status: "running",
        createdAt: input.createdAt,
        options: { partition: "short", nested: { cpus: 4 } },
        costPerHour: 0.25,
      });
      assert.deepEqual(await ctx.store.getMachineGroup(input.name), group);
      assert.equal(await ctx.store.getMachineGroup(unique("none")), undefined);
      const owner = unique("owner");
      const mine = await ctx.store.createMachineGroup(newGroup({ owner, provider: "slurm" }));
      assert.deepEqual(await ctx.store.listMachineGroups(owner), [mine]);
      assert.ok((await ctx.store.listMachineGroups()).some((g) => g.name === input.name));
    });

    it("a live group name is MACHINE_GROUP_EXISTS; a terminated group of that name is replaced", async () => {
      const input = newGroup();
      await ctx.store.createMachineGroup(input);
      await rejectsWith(
        ctx.store.createMachineGroup(newGroup({ name: input.name })),
        "MACHINE_GROUP_EXISTS",
      );
      const terminating = await ctx.store.setMachineGroupStatus(input.name, "terminating", 41);
      assert.equal(terminating.status, "terminating");
      assert.equal(terminating.terminatedAt, undefined);
      await rejectsWith(
        ctx.store.createMachineGroup(newGroup({ name: input.name })),
        "MACHINE_GROUP_EXISTS",
      );
      const terminated = await ctx.store.setMachineGroupStatus(input.name, "terminated", 42);
      assert.equal(terminated.terminatedAt, 42);
      const again = await ctx.store.createMachineGroup(
        newGroup({ name: input.name, owner: "bob", numMachines: 1 }),
      );
      assert.equal(again.owner, "bob");
      assert.equal(again.status, "running");
      assert.equal(again.terminatedAt, undefined);
      assert.deepEqual(await ctx.store.getMachineGroup(input.name), again);
      await rejectsWith(
        ctx.store.setMachineGroupStatus(unique("none"), "terminated", 1),
        "MACHINE_GROUP_NOT_FOUND",
      );
    });

    it("registers machines, lists them per group, and updates each field", async () => {
      const group = unique("machines");
      const input = {
        id: unique("m"),
        machineGroup: group,
        host: "node1",
        pid: 7,
        providerRef: "slurm-123",
        simulators: { custom: "builtin" },
        cpus: 8,
        memoryBytes: 1024,
        at: 5,
      };
      const machine = await ctx.store.createMachine(input);
      assert.deepEqual(machine, {
        id: input.id,
        machineGroup: group,
        host: "node1",
        pid: 7,
        status: "idle",
        registeredAt: 5,
        lastSeenAt: 5,
        providerRef: "slurm-123",
        simulators: { custom: "builtin" },
        cpus: 8,
        memoryBytes: 1024,
      });
      assert.deepEqual(await ctx.store.getMachine(input.id), machine);
      const bare = await ctx.store.createMachine({
        id: unique("m"),
        machineGroup: group,
        host: "n2",
        simulators: {},
        at: 6,
      });
      assertNoNulls(bare);
      await ctx.store.createMachine({
        id: unique("m"),
        machineGroup: unique("other"),
        host: "n3",
        simulators: {},
        at: 7,
      });
      assert.deepEqual(
        (await ctx.store.listMachines(group)).map((m) => m.id),
        [machine.id, bare.id],
      );
      await rejectsWith(ctx.store.createMachine(input), "INVALID_INPUT");
      const updated = await ctx.store.updateMachine(input.id, {
        status: "busy",
        lastSeenAt: 50,
        taskId: "t1",
        host: "node9",
        pid: 9,
        simulators: { custom: "builtin", gromacs: "2024" },
        cpus: 16,
        memoryBytes: 2048,
      });
      assert.deepEqual(updated, {
        ...machine,
        status: "busy",
        lastSeenAt: 50,
        taskId: "t1",
        host: "node9",
        pid: 9,
        simulators: { custom: "builtin", gromacs: "2024" },
        cpus: 16,
        memoryBytes: 2048,
      });
      const cleared = await ctx.store.updateMachine(input.id, { status: "idle", taskId: null });
      assert.equal(cleared.taskId, undefined);
      assert.equal(cleared.host, "node9", "fields not in the patch stay");
      assert.equal(await ctx.store.getMachine(unique("none")), undefined);
      await rejectsWith(
        ctx.store.updateMachine(unique("none"), { status: "idle" }),
        "MACHINE_NOT_FOUND",
      );
    });

    it("finds a user by token hash until the user is revoked", async () => {
      const id = unique("u");
      const user = await ctx.store.createUser({
        id,
        name: "dana",
        role: "runner",
        machineGroup: "gpu",
        tokenHash: `hash-${id}`,
        createdAt: 1,
      });
      assert.deepEqual(user, {
        id,
        name: "dana",
        role: "runner",
        machineGroup: "gpu",
        createdAt: 1,
      });
      assert.deepEqual(await ctx.store.findUserByTokenHash(`hash-${id}`), user);
      assert.equal(await ctx.store.findUserByTokenHash(unique("hash")), undefined);
      assert.deepEqual(
        (await ctx.store.listUsers()).find((u) => u.id === id),
        user,
      );
      await ctx.store.revokeUser(id, 2);
      assert.equal(await ctx.store.findUserByTokenHash(`hash-${id}`), undefined);
      assert.deepEqual(
        (await ctx.store.listUsers()).find((u) => u.id === id),
        { ...user, revokedAt: 2 },
      );
    });

    it("a taken user id or token hash is INVALID_INPUT", async () => {
      const id = unique("u");
      const hash = unique("hash");
      await ctx.store.createUser({ id, name: "erin", role: "user", tokenHash: hash, createdAt: 1 });
      await rejectsWith(
        ctx.store.createUser({ id, name: "x", role: "user", tokenHash: unique("h"), createdAt: 1 }),
        "INVALID_INPUT",
      );
      await rejectsWith(
        ctx.store.createUser({
          id: unique("u"),
          name: "x",
          role: "admin",
          tokenHash: hash,
          createdAt: 1,
        }),
        "INVALID_INPUT",
      );
      assert.equal((await ctx.store.findUserByTokenHash(hash))?.id, id);
    });
  });
}

export function describePersistence(ctx: StoreContext): void {
  describe("persistence", () => {
    it("keeps tasks, queue order, groups, machines and users across close and reopen", async () => {
      const group = unique("persist");
      const queued = await queueTask(ctx.store, group);
      const pending = await ctx.store.createTask(newTask({ machineGroup: group }));
      const mg = await ctx.store.createMachineGroup(newGroup());
      const machine = await ctx.store.createMachine({
        id: unique("m"),
        machineGroup: group,
        host: "h",
        simulators: {},
        at: 1,
      });
      const user = await ctx.store.createUser({
        id: unique("u"),
        name: "f",
        role: "user",
        tokenHash: unique("h"),
        createdAt: 1,
      });
      const before = await Promise.all([queued, pending].map((t) => ctx.store.getTask(t.id)));
      await ctx.reopen();
      assert.deepEqual(
        await Promise.all([queued, pending].map((t) => ctx.store.getTask(t.id))),
        before,
      );
      assert.deepEqual(await ctx.store.getMachineGroup(mg.name), mg);
      assert.deepEqual(await ctx.store.getMachine(machine.id), machine);
      assert.deepEqual(
        (await ctx.store.listUsers()).find((u) => u.id === user.id),
        user,
      );
      const later = await queueTask(ctx.store, group);
      assert.equal(
        (await ctx.store.getTask(later.id))?.queuePosition,
        1,
        "queued behind the old task",
      );
      assert.equal((await claim(ctx.store, group))?.id, queued.id);
    });
  });
}
