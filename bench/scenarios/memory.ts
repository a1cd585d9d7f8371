// Scenario 6: server memory with N queued tasks (inserted in bulk into a group without machines)
// and 4 idle runners of another group, after the server has served the queue: group info with its
// queue count, a page of queued tasks with positions, and one task's position.
import { join } from "node:path";
import type { BenchContext } from "../context.js";
import { insertSqliteTasks } from "../lib/bulk-tasks.js";
import { readMemoryMb } from "../lib/processes.js";
import {
  addParkedGroup,
  PARKED_GROUP,
  startLocalGroup,
  startServerProcess,
} from "../lib/server-process.js";
import { nowMs, round } from "../lib/stats.js";
import { checked, type ResultRow, type SkippedColumn } from "../result.js";

const SCENARIO = "6 memory";

export async function benchMemory(ctx: BenchContext): Promise<{
  rows: ResultRow[];
  skipped: SkippedColumn[];
  details: Record<string, unknown>;
}> {
  const { memoryQueuedTasks: count, memoryRunners: runners } = ctx.sizes;
  const dataDir = join(ctx.workDir, "memory-server");
  await addParkedGroup(dataDir);
  ctx.log(`memory: inserting ${count} queued tasks`);
  const ids = insertSqliteTasks(join(dataDir, "flotilla.db"), {
    owner: "admin",
    machineGroup: PARKED_GROUP,
    count,
    allQueued: true,
  });
  const server = await startServerProcess(dataDir);
  try {
    await startLocalGroup(server, "idle-runners", runners);
    const group = await server.client.getMachineGroup(PARKED_GROUP);
    if (group.queued !== count) throw new Error(`the server sees ${group.queued} queued tasks`);
    const started = nowMs();
    const page = await server.client.listTasks({ status: "in-queue", limit: 100 });
    const listMs = nowMs() - started;
    const last = ids.at(-1) as string;
    const position = await server.client.getPosition(last);
    if (page.tasks.length !== Math.min(100, count)) throw new Error("a short page of queued tasks");
    const memory = await server.memory();
    const idle = await server.client.getMachineGroup("idle-runners");
    let runnersRssMb = 0;
    for (const machine of idle.machines) {
      if (machine.pid !== undefined)
        runnersRssMb += (await readMemoryMb(machine.pid).catch(() => ({ rssMb: 0 }))).rssMb;
    }
    return {
      rows: [
        checked(
          {
            scenario: SCENARIO,
            measure: `server RSS, ${count} queued + ${runners} idle runners`,
            value: memory.rssMb,
            unit: "MB",
            target: "< 250 MB",
            note: `peak ${memory.peakRssMb} MB; runners ${round(runnersRssMb)} MB together (not counted)`,
          },
          (v) => v < 250,
        ),
      ],
      skipped: [],
      details: {
        queued: count,
        runners,
        ...memory,
        runnersRssMb: round(runnersRssMb),
        queuedPageMs: round(listMs),
        lastPosition: position,
      },
    };
  } finally {
    await server.stop();
  }
}
