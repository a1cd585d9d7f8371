// Scenario 2: dispatch latency on an idle machine. The command stamps its own start and end
// (`date +%s%N`), so: submit returned → command started, and command exited → wait() returned.
// The Slurm peer: sbatch returned → job started, job ended → squeue shows it done.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulators } from "../../src/sdk/index.js";
import type { BenchContext } from "../context.js";
import { startLocalGroup, startServerProcess } from "../lib/server-process.js";
import {
  cancelJobs,
  isJobDone,
  SlurmTimeoutError,
  submitWrap,
  waitForSlurm,
} from "../lib/slurm.js";
import { describeSamples, nowMs, type Distribution } from "../lib/stats.js";
import { checked, type ResultRow, type SkippedColumn } from "../result.js";

const SCENARIO = "2 dispatch";

/** The shell line that stamps start and end (ns since the epoch) into two files. */
function stampScript(startFile: string, endFile: string): string {
  return `date +%s%N > ${startFile}; date +%s%N > ${endFile}`;
}

async function readStampMs(path: string): Promise<number> {
  const text = (await readFile(path, "utf8")).trim();
  if (!/^\d{19}$/.test(text)) throw new Error(`${path} holds no nanosecond stamp: "${text}"`);
  return Number(BigInt(text) / 1000n) / 1000;
}

export async function benchDispatch(ctx: BenchContext): Promise<{
  rows: ResultRow[];
  skipped: SkippedColumn[];
  details: Record<string, unknown>;
}> {
  const stamps = join(ctx.workDir, "dispatch-stamps");
  const inputDir = join(ctx.workDir, "dispatch-input");
  await mkdir(stamps, { recursive: true });
  await mkdir(inputDir, { recursive: true });
  await writeFile(join(inputDir, "params.txt"), "idle\n");
  const flotilla = await measureFlotilla(ctx, stamps, inputDir);
  const rows: ResultRow[] = [];
  const skipped: SkippedColumn[] = [];
  const details: Record<string, unknown> = { flotilla };
  let slurm: { start: Distribution; done: Distribution } | undefined;
  if (ctx.slurmUnavailable === undefined) {
    try {
      slurm = await measureSlurm(ctx, stamps);
      details.slurm = slurm;
    } catch (error) {
      if (!(error instanceof SlurmTimeoutError)) throw error;
      skipped.push({ column: "Slurm dispatch", reason: error.message });
    }
  } else {
    skipped.push({ column: "Slurm dispatch", reason: ctx.slurmUnavailable });
  }
  const row = (
    measure: string,
    value: number,
    peerValue: number | undefined,
    target: string,
    limitMs: number,
  ): ResultRow =>
    checked(
      {
        scenario: SCENARIO,
        measure,
        value,
        unit: "ms",
        peer: "Slurm",
        peerValue: peerValue ?? null,
        ratio: peerValue === undefined ? null : Math.round((peerValue / value) * 10) / 10,
        target,
        note: "ratio = Slurm / flotilla (how many times faster)",
      },
      (v) => v < limitMs,
    );
  rows.push(
    row("submit → command started p50", flotilla.start.p50, slurm?.start.p50, "< 20 ms", 20),
    row("submit → command started p99", flotilla.start.p99, slurm?.start.p99, "< 100 ms", 100),
    row("command exited → wait() returned p50", flotilla.wait.p50, slurm?.done.p50, "< 20 ms", 20),
    {
      scenario: SCENARIO,
      measure: "command exited → wait() returned p99",
      value: flotilla.wait.p99,
      unit: "ms",
      peer: "Slurm",
      peerValue: slurm?.done.p99 ?? null,
    },
  );
  return { rows, skipped, details };
}

async function measureFlotilla(
  ctx: BenchContext,
  stamps: string,
  inputDir: string,
): Promise<{ start: Distribution; wait: Distribution; phases: Record<string, Distribution> }> {
  const server = await startServerProcess(join(ctx.workDir, "dispatch-server"));
  const starts: number[] = [];
  const waits: number[] = [];
  const phases: Record<string, number[]> = {};
  const addPhase = (name: string, ms: number): void => {
    (phases[name] ??= []).push(ms);
  };
  try {
    await startLocalGroup(server, "dispatch", 1);
    const simulator = simulators.custom();
    ctx.log(`dispatch: ${ctx.sizes.dispatchTasks} tasks one at a time on an idle machine`);
    for (let index = 0; index < ctx.sizes.dispatchTasks; index += 1) {
      const startFile = join(stamps, `f${index}.start`);
      const endFile = join(stamps, `f${index}.end`);
      const task = await simulator.run(inputDir, {
        on: "dispatch",
        commands: [["sh", "-c", stampScript(startFile, endFile)]],
        client: server.client,
      });
      const submitted = nowMs();
      const final = await task.wait();
      const returned = nowMs();
      if (final.status !== "success") throw new Error(`dispatch task ${task.id} ${final.status}`);
      const commandStart = await readStampMs(startFile);
      const commandEnd = await readStampMs(endFile);
      starts.push(commandStart - submitted);
      waits.push(returned - commandEnd);
      // Where the time goes, from the server's status history (millisecond stamps).
      const at = (status: string): number =>
        Date.parse(final.statusHistory.find((e) => e.status === status)?.at ?? "");
      addPhase("submit returned → claimed (server)", at("submitted") - submitted);
      addPhase("claimed → started reported", at("started") - at("submitted"));
      addPhase("started reported → command started", commandStart - at("started"));
      addPhase("command exited → success recorded", at("success") - commandEnd);
      addPhase("success recorded → wait() returned", returned - at("success"));
    }
  } finally {
    await server.stop();
  }
  return {
    start: describeSamples(starts),
    wait: describeSamples(waits),
    phases: Object.fromEntries(
      Object.entries(phases).map(([name, samples]) => [name, describeSamples(samples)]),
    ),
  };
}

async function measureSlurm(
  ctx: BenchContext,
  stamps: string,
): Promise<{ start: Distribution; done: Distribution }> {
  const name = `${ctx.runId}-dispatch`;
  const starts: number[] = [];
  const dones: number[] = [];
  ctx.log(`dispatch: ${ctx.sizes.slurmDispatchJobs} Slurm jobs one at a time`);
  const deadline = Date.now() + ctx.sizes.slurmWaitMs;
  try {
    for (let index = 0; index < ctx.sizes.slurmDispatchJobs; index += 1) {
      const startFile = join(stamps, `s${index}.start`);
      const endFile = join(stamps, `s${index}.end`);
      const id = await submitWrap(name, stampScript(startFile, endFile));
      const submitted = nowMs();
      await waitForSlurm(
        `job ${id}`,
        () => isJobDone(id),
        Math.max(1000, deadline - Date.now()),
        10,
      );
      const seenDone = nowMs();
      starts.push((await readStampMs(startFile)) - submitted);
      dones.push(seenDone - (await readStampMs(endFile)));
    }
  } finally {
    await cancelJobs(name);
  }
  return { start: describeSamples(starts), done: describeSamples(dones) };
}
