// The embedded `default` group holds one machine per core only while there is work: after
// `defaultGroupIdleMs` without an active task it is terminated, and made again on next use.
import { DEFAULT_MACHINE_GROUP } from "../domain/task.js";
import { terminateMachineGroup } from "./machine-groups.js";
import type { ServiceDeps } from "./service-deps.js";

/** Returns one sweep step to call periodically; it remembers when the group was last busy. */
export function createIdleRelease(deps: ServiceDeps): () => Promise<boolean> {
  let lastBusyAt = deps.clock();
  return async () => {
    const group = await deps.store.getMachineGroup(DEFAULT_MACHINE_GROUP);
    const now = deps.clock();
    // Released by the server that runs its machines, not by every server sharing the database.
    if (group?.status !== "running" || deps.placement?.hosts(DEFAULT_MACHINE_GROUP) === false) {
      lastBusyAt = now;
      return false;
    }
    const counts = await deps.store.countActiveTasks(DEFAULT_MACHINE_GROUP, 1);
    if (Object.values(counts).some((count) => count > 0)) {
      lastBusyAt = now;
      return false;
    }
    if (now - Math.max(lastBusyAt, group.createdAt) < deps.settings.defaultGroupIdleMs)
      return false;
    deps.log("releasing the idle default machine group", { idleMs: now - lastBusyAt });
    await terminateMachineGroup(
      deps,
      { id: "system", name: "system", role: "admin" },
      DEFAULT_MACHINE_GROUP,
    );
    return true;
  };
}
