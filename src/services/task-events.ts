// One place that tells waiters a task changed.
import type { Task } from "../domain/task.js";
import type { ServiceDeps } from "./service-deps.js";

export function publishTask(deps: Pick<ServiceDeps, "events">, task: Task): void {
  deps.events.tasks.publish(task.id, task);
}
