// Compile-time check, never run: Task.status is the literal union of the seven statuses, so the
// seed's `task.status == "completed"` does not compile. If the type ever widens to string, the
// expect-error directive below becomes unused and the build breaks.
import type { Task } from "../../src/sdk/index.js";

export function isCompleted(task: Task): boolean {
  // @ts-expect-error -- "completed" is not a TaskStatus; a task that ended well is "success".
  return task.status === "completed";
}

export function isSuccess(task: Task): boolean {
  return task.status === "success";
}
