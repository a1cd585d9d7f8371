// Shared fixtures of the store conformance suite.
import assert from "node:assert/strict";
import { FlotillaError } from "../../src/domain/errors.js";
import { createId } from "../../src/domain/ids.js";
import type { Task } from "../../src/domain/task.js";
import type { TaskStatus } from "../../src/domain/task-status.js";
import type { NewTask, TaskStore } from "../../src/store/task-store.js";

/** The store under test; `reopen` closes it and opens the same data again. */
export interface StoreContext {
  readonly store: TaskStore;
  reopen: () => Promise<void>;
}

// One increasing clock for the whole suite, so ids (which embed the time) sort in creation order.
let clock = 1_700_000_000_000;
export const tick = (): number => (clock += 1);

/** A name no other test uses, so tests sharing one store do not see each other's rows. */
export const unique = (prefix: string): string => `${prefix}-${createId()}`;

export function newTask(overrides: Partial<NewTask> = {}): NewTask {
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

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof FlotillaError,
      `expected a FlotillaError ${code}, got ${String(error)}`,
    );
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** Drives a task along a path of statuses; `submitted` leases it to machine m1. */
export async function driveTo(
  store: TaskStore,
  id: string,
  path: readonly TaskStatus[],
): Promise<Task | undefined> {
  let task: Task | undefined;
  for (const status of path) {
    const patch =
      status === "submitted"
        ? { machine: { id: "m1", host: "h1" }, leaseExpiresAt: tick() + 60_000 }
        : {};
    task = await store.transitionTask(id, {
      to: status,
      at: tick(),
      reason: `to ${status}`,
      patch,
    });
  }
  return task;
}

/** A path from pending-input to each status. */
export const PATH_TO: Record<TaskStatus, readonly TaskStatus[]> = {
  "pending-input": [],
  "in-queue": ["in-queue"],
  submitted: ["in-queue", "submitted"],
  started: ["in-queue", "submitted", "started"],
  success: ["in-queue", "submitted", "started", "success"],
  failed: ["failed"],
  killed: ["killed"],
};

/** Creates a task in `machineGroup` and puts it in the queue. */
export async function queueTask(
  store: TaskStore,
  machineGroup: string,
  overrides: Partial<NewTask> = {},
): Promise<Task> {
  const task = await store.createTask(newTask({ machineGroup, ...overrides }));
  await driveTo(store, task.id, ["in-queue"]);
  return task;
}

export function claim(
  store: TaskStore,
  group: string,
  machineId = "m1",
): Promise<Task | undefined> {
  const at = tick();
  return store.claimNextTask(group, { id: machineId, host: `host-${machineId}` }, at, at + 60_000);
}

/** Optional fields are absent, never null, at any depth. */
export function assertNoNulls(value: unknown, path = "record"): void {
  assert.notEqual(value, null, `${path} is null`);
  if (typeof value !== "object" || value === null) return;
  for (const [key, inner] of Object.entries(value)) {
    assert.ok(inner !== undefined, `${path}.${key} is present but undefined`);
    assertNoNulls(inner, `${path}.${key}`);
  }
}
