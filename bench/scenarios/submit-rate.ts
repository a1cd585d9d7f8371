// Scenario 3: submit rate. N tasks with small inputs through the SDK (`simulator.run`: create +
// streamed tar.gz upload), a few at a time, into a group without machines so that the server
// does nothing but accept them; tasks/s and the server's RSS at the end. Then the same into an
// elastic group whose queue grows with each submission, beside the first rate.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulators, type Flotilla } from "../../src/sdk/index.js";
import type { BenchContext } from "../context.js";
import { addParkedGroup, PARKED_GROUP, startServerProcess } from "../lib/server-process.js";
import { nowMs, perSecond, runPool } from "../lib/stats.js";
import { checked, ratioOf, type ResultRow, type SkippedColumn } from "../result.js";

const SCENARIO = "3 submit rate";

/**
 * The same submissions into an elastic group of at most one machine, kept busy by the first
 * task: every later one waits, so the queue the scaler looks at grows to `count`.
 */
async function submitToElasticGroup(
  ctx: BenchContext,
  client: Flotilla,
  inputDir: string,
): Promise<{ rate: number; elapsedMs: number }> {
  const { submitTasks: count, submitConcurrency } = ctx.sizes;
  const group = "bench-elastic";
  await client.createMachineGroup({
    name: group,
    provider: "local",
    numMachines: 0,
    minMachines: 0,
    maxMachines: 1,
  });
  try {
    ctx.log(`submit: ${count} tasks into an elastic group whose one machine is busy`);
    const simulator = simulators.custom();
    const started = nowMs();
    await runPool(count, submitConcurrency, async () => {
      await simulator.run(inputDir, { on: group, commands: [["sleep", "3600"]], client });
    });
    const elapsedMs = nowMs() - started;
    return { rate: perSecond(count, elapsedMs), elapsedMs };
  } finally {
    await client.terminateMachineGroup(group);
  }
}

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
    const elastic = await submitToElasticGroup(ctx, server.client, inputDir);
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
        checked(
          {
            scenario: SCENARIO,
            measure: `${count} submissions into an elastic group (max 1 machine, busy)`,
            value: elastic.rate,
            unit: "tasks/s",
            peer: "into a group without machines",
            peerValue: rate,
            ratio: ratioOf(elastic.rate, rate),
            target: "≥ 0.5× (ours, not the issue's)",
            note: "the queue grows with every submission; scaling must not cost per queued task",
          },
          () => (ratioOf(elastic.rate, rate) ?? 0) >= 0.5,
        ),
      ],
      skipped: [],
      details: {
        tasks: count,
        concurrency: submitConcurrency,
        elapsedMs,
        before,
        after,
        rate,
        elastic,
      },
    };
  } finally {
    await server.stop();
  }
}
