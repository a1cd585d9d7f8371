// Who is calling: a user (admin or not) or a runner scoped to one machine group.
import { FlotillaError, taskNotFound } from "../domain/errors.js";
import type { Task } from "../domain/task.js";
import type { User } from "../store/task-store.js";
import type { ServiceDeps } from "./service-deps.js";

export type Principal = Pick<User, "id" | "name" | "role" | "machineGroup">;

/** Admins see every task; users only their own. Others' tasks are "not found", never "forbidden". */
export function canSeeOwner(principal: Principal, owner: string): boolean {
  return principal.role === "admin" || principal.id === owner;
}

/** The task if the principal may see it, else TASK_NOT_FOUND (the same answer as for no task). */
export async function getVisibleTask(
  deps: ServiceDeps,
  principal: Principal,
  id: string,
): Promise<Task> {
  const task = await deps.store.getTask(id);
  if (task === undefined || !canSeeOwner(principal, task.owner)) throw taskNotFound(id);
  return task;
}

export function requireUser(principal: Principal): void {
  if (principal.role === "runner") {
    throw new FlotillaError(
      "FORBIDDEN",
      "runner tokens may only use the runner protocol; use a user token",
    );
  }
}

export function requireRunner(principal: Principal, machineGroup: string): void {
  const allowed =
    principal.role === "admin" ||
    (principal.role === "runner" && principal.machineGroup === machineGroup);
  if (!allowed) {
    throw new FlotillaError(
      "FORBIDDEN",
      `this token may not serve machine group ${machineGroup}; use the runner token of that group`,
    );
  }
}
