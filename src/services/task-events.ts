// One place that tells waiters a task changed.
import type { Task } from "../domain/task.js";
import type { ServiceDeps } from "./service-deps.js";

/** The key on which every task change is also published (metrics). */
export const ALL_TASKS = "*";

export function publishTask(deps: Pick<ServiceDeps, "events">, task: Task): void {
  deps.events.tasks.publish(task.id, task);
  deps.events.tasks.publish(ALL_TASKS, task);
}
