// Scenario 3: submit rate. N tasks with small inputs through the SDK (`simulator.run`: create +
// streamed tar.gz upload), a few at a time, into a group without machines so that the server
// does nothing but accept them; tasks/s and the server's RSS at the end.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulators } from "../../src/sdk/index.js";
import type { BenchContext } from "../context.js";
import { addParkedGroup, PARKED_GROUP, startServerProcess } from "../lib/server-process.js";
import { nowMs, perSecond, runPool } from "../lib/stats.js";
import { checked, type ResultRow, type SkippedColumn } from "../result.js";

const SCENARIO = "3 submit rate";

export async function benchSubmitRate(ctx: BenchContext): Promise<{
  rows: ResultRow[];
  skipped: SkippedColumn[];
  details: Record<string, unknown>;
}> {
  const { submitTasks: count, submitConcurrency } = ctx.sizes;
  const inputDir = join(ctx.workDir, "submit-input");
  await mkdir(inputDir, { recursive: true });
  await writeFile(join(inputDir, "params.json"), JSON.stringify({ wind: 10, steps: 1000 }));
  await writeFile(join(inputDir, "mesh.txt"), "0 0 0\n1 0 0\n0 1 0\n".repeat(20));
  const dataDir = join(ctx.workDir, "submit-server");
  await addParkedGroup(dataDir);
  const server = await startServerProcess(dataDir);
  try {
    const before = await server.memory();
    const simulator = simulators.custom();
    ctx.log(`submit: ${count} tasks through the SDK, ${submitConcurrency} at a time`);
    const started = nowMs();
    await runPool(count, submitConcurrency, async (index) => {
      await simulator.run(inputDir, {
        on: PARKED_GROUP,
        commands: [["./simulate", `--case=${index}`]],
        client: server.client,
      });
    });
    const elapsedMs = nowMs() - started;
    const after = await server.memory();
    const group = await server.client.getMachineGroup(PARKED_GROUP);
    if (group.queued !== count) {
      throw new Error(
        `expected ${count} queued tasks after submitting, the server has ${group.queued}`,
      );
    }
    const rate = perSecond(count, elapsedMs);
    return {
      rows: [
        {
          scenario: SCENARIO,
          measure: `${count} submissions (${submitConcurrency} concurrent)`,
          value: rate,
          unit: "tasks/s",
          note: "create + input upload per task; no target in the issue",
        },
        checked(
          {
            scenario: SCENARIO,
            measure: `server RSS after ${count} submissions`,
            value: after.rssMb,
            unit: "MB",
            target: "< 250 MB (the memory target)",
            note: `peak ${after.peakRssMb} MB; ${before.rssMb} MB before`,
          },
          (v) => v < 250,
        ),
      ],
      skipped: [],
      details: { tasks: count, concurrency: submitConcurrency, elapsedMs, before, after, rate },
    };
  } finally {
    await server.stop();
  }
}
