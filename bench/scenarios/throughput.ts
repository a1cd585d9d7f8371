// Scenario 1: N trivial tasks (`true`) end to end, first submit → last success, on local groups of
// 2 and 4 machines; beside it the bare limit (spawn `true` N times, same parallelism), Slurm
// (`sbatch --wrap true`) and flotilla on a Slurm group (pilots) when the provider exists.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FlotillaError } from "../../src/domain/errors.js";
import { simulators, type Flotilla, type Task } from "../../src/sdk/index.js";
import type { BenchContext } from "../context.js";
import { readCpuMs, spawnQuiet } from "../lib/processes.js";
import { startLocalGroup, startServerProcess, type ServerProcess } from "../lib/server-process.js";
import {
  cancelJobs,
  countActiveJobs,
  SlurmTimeoutError,
  submitWrap,
  waitForSlurm,
} from "../lib/slurm.js";
import { nowMs, perSecond, runPool } from "../lib/stats.js";
import { checked, ratioOf, type ResultRow, type SkippedColumn } from "../result.js";

const SCENARIO = "1 throughput";
const SUBMIT_CONCURRENCY = 8;

export const SLURM_PROVIDER_MISSING = "flotilla-on-slurm: provider not available in this build";

/** Submits `count` `true` tasks to `group` and waits for all; tasks/s from first submit to last end. */
export async function runTrivialTasks(
  client: Flotilla,
  group: string,
  inputDir: string,
  count: number,
): Promise<{ tasksPerSecond: number; elapsedMs: number; failed: number }> {
  const simulator = simulators.custom();
  const handles = Array.from({ length: count }, () => createDeferred<Task>());
  const started = nowMs();
  // Tasks are waited for in submission order while later ones are still being submitted.
  const waiting = (async () => {
    let failed = 0;
    for (const handle of handles) {
      const final = await (await handle.promise).wait();
      if (final.status !== "success") failed += 1;
    }
    return failed;
  })();
  waiting.catch(() => undefined);
  await runPool(count, SUBMIT_CONCURRENCY, async (index) => {
    const handle = handles[index] as Deferred<Task>;
    try {
      handle.resolve(await simulator.run(inputDir, { on: group, commands: [["true"]], client }));
    } catch (error) {
      handle.reject(error);
      throw error;
    }
  });
  const failed = await waiting;
  const elapsedMs = nowMs() - started;
  return { tasksPerSecond: perSecond(count, elapsedMs), elapsedMs, failed };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function createDeferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Spawns `true` `count` times, `parallelism` at a time: what the machine itself can do. */
export async function runBareSpawn(count: number, parallelism: number): Promise<number> {
  const started = nowMs();
  await runPool(count, parallelism, async () => {
    const code = await spawnQuiet("true");
    if (code !== 0) throw new Error(`true exited ${code}`);
  });
  return perSecond(count, nowMs() - started);
}

/** `sbatch --wrap true` `count` times, then waits until squeue shows none of them active. */
export async function runSlurmJobs(name: string, count: number, waitMs: number): Promise<number> {
  const started = nowMs();
  try {
    for (let index = 0; index < count; index += 1) await submitWrap(name, "true");
    await waitForSlurm(
      `${count} sbatch --wrap true jobs`,
      async () => (await countActiveJobs(name)) === 0,
      waitMs,
      50,
    );
    return perSecond(count, nowMs() - started);
  } finally {
    await cancelJobs(name);
  }
}

export async function benchThroughput(ctx: BenchContext): Promise<{
  rows: ResultRow[];
  skipped: SkippedColumn[];
  details: Record<string, unknown>;
}> {
  const { throughputTasks: count, throughputMachines } = ctx.sizes;
  const inputDir = join(ctx.workDir, "throughput-input");
  await mkdir(inputDir, { recursive: true });
  await writeFile(join(inputDir, "params.txt"), "trivial\n");
  const rows: ResultRow[] = [];
  const skipped: SkippedColumn[] = [];
  const details: Record<string, unknown> = { tasks: count };

  let slurmRate: number | null = null;
  if (ctx.slurmUnavailable === undefined) {
    ctx.log(`throughput: Slurm, ${ctx.sizes.slurmThroughputJobs} sbatch --wrap true`);
    try {
      const jobs = ctx.sizes.slurmThroughputJobs;
      slurmRate = await runSlurmJobs(`${ctx.runId}-tp`, jobs, ctx.sizes.slurmWaitMs);
      details.slurm = { jobs, jobsPerSecond: slurmRate };
    } catch (error) {
      if (!(error instanceof SlurmTimeoutError)) throw error;
      skipped.push({ column: "Slurm (sbatch --wrap true)", reason: error.message });
    }
  } else {
    skipped.push({ column: "Slurm (sbatch --wrap true)", reason: ctx.slurmUnavailable });
  }

  const server = await startServerProcess(join(ctx.workDir, "throughput-server"));
  try {
    for (const machines of throughputMachines) {
      const bare = await runBareSpawn(count, machines);
      const group = `tp-${machines}`;
      await startLocalGroup(server, group, machines);
      ctx.log(`throughput: ${count} tasks on ${machines} local machines`);
      const cpu = await measureCpu(server, group);
      const run = await runTrivialTasks(server.client, group, inputDir, count);
      const cpuMsPerTask = await cpu.perTask(count);
      await server.client.terminateMachineGroup(group);
      details[`local${machines}`] = { ...run, bareSpawnPerSecond: bare, cpuMsPerTask };
      rows.push(
        ...throughputRows(`local group of ${machines}`, run, bare, slurmRate, cpuMsPerTask),
      );
    }
    rows.push(await flotillaOnSlurm(ctx, server, inputDir, slurmRate, details, skipped));
  } finally {
    await server.stop();
  }
  if (slurmRate !== null) {
    rows.push({
      scenario: SCENARIO,
      measure: "Slurm sbatch --wrap true",
      value: slurmRate,
      unit: "jobs/s",
      note: `${ctx.sizes.slurmThroughputJobs} jobs, submit → squeue shows none left`,
    });
  }
  return { rows, skipped, details };
}

/** CPU time per task of the server, the group's runners (their commands included), the client. */
async function measureCpu(
  server: ServerProcess,
  group: string,
): Promise<{ perTask(count: number): Promise<Record<string, number>> }> {
  const pids = (await server.client.getMachineGroup(group)).machines.flatMap((m) =>
    m.pid === undefined ? [] : [m.pid],
  );
  const runnersMs = async (): Promise<number> => {
    let total = 0;
    for (const pid of pids) total += await readCpuMs(pid).catch(() => 0);
    return total;
  };
  const server0 = await readCpuMs(server.pid);
  const runners0 = await runnersMs();
  const client0 = process.cpuUsage();
  return {
    async perTask(count) {
      const client = process.cpuUsage(client0);
      const per = (ms: number): number => Math.round((ms / count) * 100) / 100;
      return {
        server: per((await readCpuMs(server.pid)) - server0),
        runners: per((await runnersMs()) - runners0),
        client: per((client.user + client.system) / 1000),
      };
    },
  };
}

function throughputRows(
  label: string,
  run: { tasksPerSecond: number; failed: number },
  bare: number,
  slurmRate: number | null,
  cpuMsPerTask: Record<string, number>,
): ResultRow[] {
  // Where the time goes, so that the ratio can be read: the run is CPU-bound (bench/README.md).
  const cpu = `CPU per task: ${Object.entries(cpuMsPerTask)
    .map(([part, ms]) => `${part} ${ms} ms`)
    .join(", ")}`;
  const note = run.failed === 0 ? cpu : `${run.failed} tasks did not succeed; ${cpu}`;
  const value = run.failed === 0 ? run.tasksPerSecond : null;
  const rows: ResultRow[] = [
    checked(
      {
        scenario: SCENARIO,
        measure: `${label} vs bare spawn`,
        value,
        unit: "tasks/s",
        peer: "bare spawn of true",
        peerValue: bare,
        ratio: ratioOf(value, bare),
        target: "≥ 0.5× bare spawn",
        note,
      },
      (v) => v >= 0.5 * bare,
    ),
  ];
  rows.push(
    slurmRate === null
      ? {
          scenario: SCENARIO,
          measure: `${label} vs Slurm`,
          value,
          unit: "tasks/s",
          peer: "Slurm",
          peerValue: null,
          target: "≥ 100× Slurm",
          met: null,
          note: "Slurm not measured (see skipped)",
        }
      : checked(
          {
            scenario: SCENARIO,
            measure: `${label} vs Slurm`,
            value,
            unit: "tasks/s",
            peer: "Slurm sbatch --wrap",
            peerValue: slurmRate,
            ratio: ratioOf(value, slurmRate),
            target: "≥ 100× Slurm",
            note,
          },
          (v) => v >= 100 * slurmRate,
        ),
  );
  return rows;
}

/** Runs the throughput on a Slurm group, or says (loudly) why it cannot. */
async function flotillaOnSlurm(
  ctx: BenchContext,
  server: ServerProcess,
  inputDir: string,
  slurmRate: number | null,
  details: Record<string, unknown>,
  skipped: SkippedColumn[],
): Promise<ResultRow> {
  const base = {
    scenario: SCENARIO,
    measure: "flotilla on a Slurm group (pilots)",
    unit: "tasks/s",
    peer: "Slurm sbatch --wrap",
    peerValue: slurmRate,
    target: "≥ 100× Slurm",
  };
  if (ctx.slurmUnavailable !== undefined) {
    skipped.push({ column: "flotilla on Slurm", reason: ctx.slurmUnavailable });
    return { ...base, value: null, met: null, note: ctx.slurmUnavailable };
  }
  const machines = Math.max(...ctx.sizes.throughputMachines.filter((m) => m <= 2), 1);
  const group = "tp-slurm";
  try {
    await server.client.createMachineGroup({
      name: group,
      provider: "slurm",
      numMachines: machines,
    });
  } catch (error) {
    if (isProviderMissing(error)) {
      skipped.push({ column: "flotilla on Slurm", reason: SLURM_PROVIDER_MISSING });
      ctx.log(`*** ${SLURM_PROVIDER_MISSING}`);
      return { ...base, value: null, met: null, note: SLURM_PROVIDER_MISSING };
    }
    throw error;
  }
  try {
    await waitForSlurm(
      `${machines} pilots to register`,
      async () => {
        const view = await server.client.getMachineGroup(group);
        return view.machines.filter((m) => m.status === "idle").length >= machines;
      },
      ctx.sizes.slurmWaitMs,
      200,
    );
    ctx.log(`throughput: ${ctx.sizes.throughputTasks} tasks on ${machines} Slurm pilots`);
    const run = await runTrivialTasks(server.client, group, inputDir, ctx.sizes.throughputTasks);
    details.slurmGroup = { machines, ...run };
    const value = run.failed === 0 ? run.tasksPerSecond : null;
    return checked(
      {
        ...base,
        measure: `${base.measure}, ${machines} pilots`,
        value,
        ratio: ratioOf(value, slurmRate),
      },
      (v) => slurmRate !== null && v >= 100 * slurmRate,
    );
  } catch (error) {
    if (!(error instanceof SlurmTimeoutError)) throw error;
    skipped.push({ column: "flotilla on Slurm", reason: error.message });
    return { ...base, value: null, met: null, note: error.message };
  } finally {
    await server.client.terminateMachineGroup(group).catch(() => undefined);
  }
}

/** Creating a slurm group on a server without the provider fails with this known error. */
export function isProviderMissing(error: unknown): boolean {
  return (
    error instanceof FlotillaError &&
    error.code === "INVALID_INPUT" &&
    /provider slurm is not available/.test(error.message)
  );
}
