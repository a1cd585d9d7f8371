// Scenario 4: outputs. One task writes N files (1 GiB in 1,000 files at full size); the SDK's
// downloadOutputs (streamed tar, unpacked and sha256-verified) against `cp -r` and a `tar | tar`
// pipe of the same stored files on the same disk.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { simulators } from "../../src/sdk/index.js";
import type { BenchContext } from "../context.js";
import { runCommand } from "../lib/processes.js";
import { startLocalGroup, startServerProcess } from "../lib/server-process.js";
import { nowMs, percentile, round } from "../lib/stats.js";
import { checked, ratioOf, type ResultRow, type SkippedColumn } from "../result.js";

const SCENARIO = "4 outputs";
const ROUNDS = 3;

function writerScript(files: number, bytes: number): string {
  return [
    "mkdir -p results",
    "i=0",
    `while [ $i -lt ${files} ]; do head -c ${bytes} /dev/urandom > results/part-$i.bin; i=$((i+1)); done`,
  ].join("; ");
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = nowMs();
  await work();
  return nowMs() - started;
}

async function shell(script: string): Promise<void> {
  const result = await runCommand("sh", ["-c", script]);
  if (result.code !== 0) throw new Error(`${script} failed: ${result.stderr.trim()}`);
}

export async function benchOutputs(ctx: BenchContext): Promise<{
  rows: ResultRow[];
  skipped: SkippedColumn[];
  details: Record<string, unknown>;
}> {
  const { outputFiles: files, outputFileBytes: bytes } = ctx.sizes;
  const inputDir = join(ctx.workDir, "outputs-input");
  await mkdir(inputDir, { recursive: true });
  await writeFile(join(inputDir, "params.txt"), "write outputs\n");
  const server = await startServerProcess(join(ctx.workDir, "outputs-server"));
  try {
    await startLocalGroup(server, "outputs", 1);
    ctx.log(`outputs: a task writes ${files} files of ${bytes} bytes`);
    const task = await simulators.custom().run(inputDir, {
      on: "outputs",
      commands: [["sh", "-c", writerScript(files, bytes)]],
      client: server.client,
    });
    const final = await task.wait();
    if (final.status !== "success") throw new Error(`outputs task ${task.id} ${final.status}`);
    const manifest = await server.client.getOutputManifest(task.id);
    const totalBytes = manifest.totalBytes;
    if (totalBytes !== files * bytes) throw new Error(`outputs hold ${totalBytes} bytes`);
    const stored = join(server.dataDir, "tasks", task.id, "outputs");
    const mbps = (ms: number): number => round(totalBytes / 1024 / 1024 / (ms / 1000));
    const target = (name: string): string => join(ctx.workDir, `outputs-${name}`);

    // Each copy starts from the same disk state: `sync` first, so that the write-back of the
    // previous copy's files (and the discards of its deleted ones) is not charged to the next.
    // Rounds alternate the three; each is reported by its median.
    const samples: Record<"download" | "cp" | "tar", number[]> = { download: [], cp: [], tar: [] };
    const measure = async (name: keyof typeof samples, copy: () => Promise<unknown>) => {
      await shell("sync");
      samples[name].push(await timed(copy));
      await rm(target(name), { recursive: true, force: true });
    };
    for (let round = 1; round <= ROUNDS; round++) {
      ctx.log(`outputs: round ${round} of ${ROUNDS}: downloadOutputs, cp -r, tar | tar`);
      await measure("download", () => task.downloadOutputs(target("download")));
      await measure("cp", () => shell(`cp -r '${stored}' '${target("cp")}'`));
      await mkdir(target("tar"));
      await measure("tar", () =>
        shell(`tar -C '${stored}' -cf - . | tar -C '${target("tar")}' -xf -`),
      );
    }
    const [downloadMs, cpMs, tarMs] = [samples.download, samples.cp, samples.tar].map((ms) =>
      percentile(ms, 50),
    ) as [number, number, number];

    const download = mbps(downloadMs);
    const cp = mbps(cpMs);
    const tar = mbps(tarMs);
    return {
      rows: [
        checked(
          {
            scenario: SCENARIO,
            measure: `downloadOutputs, ${files} files, ${round(totalBytes / 1024 / 1024)} MiB`,
            value: download,
            unit: "MiB/s",
            peer: "cp -r",
            peerValue: cp,
            ratio: ratioOf(download, cp),
            target: "≥ 0.5× cp -r",
          },
          (v) => v >= 0.5 * cp,
        ),
        {
          scenario: SCENARIO,
          measure: "downloadOutputs vs tar -c piped to tar -x",
          value: download,
          unit: "MiB/s",
          peer: "tar -c piped to tar -x",
          peerValue: tar,
          ratio: ratioOf(download, tar),
        },
      ],
      skipped: [],
      details: { files, bytesPerFile: bytes, totalBytes, downloadMs, cpMs, tarMs, samples },
    };
  } finally {
    await server.stop();
  }
}
