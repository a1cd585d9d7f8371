// `flotilla tasks download <id>`: the task's outputs, sha256-verified, with a progress bar on a
// terminal. A directory that exists and holds anything is never written into without --force.
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { loadOutputRoot } from "../../../config/client-config.js";
import { Task } from "../../../sdk/index.js";
import { collect, withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import type { CliIo } from "../../io.js";
import { formatBytes } from "../../output/bytes.js";
import { createProgressBar } from "../../output/progress.js";

interface DownloadOptions {
  outputDir?: string;
  files?: string[];
  force?: boolean;
}

export function registerTasksDownload(tasks: Command, io: CliIo): void {
  const command = tasks
    .command("download")
    .description("download a task's outputs (sha256-verified)")
    .argument("<id>", "task id")
    .option(
      "-o, --output-dir <dir>",
      "where to put them (default $FLOTILLA_OUTPUT_DIR or ./flotilla-output, then <id>/outputs)",
    )
    .option("--files <path...>", "only these output files (paths as in list-files)", collect)
    .option("--force", "write into a directory that already holds files")
    .action(async (id: string, options: DownloadOptions) => downloadTask(io, id, options));
  withExamples(command, [
    "flotilla tasks download 0lx3k9v2a7b4c1d",
    "flotilla tasks download 0lx3k9v2a7b4c1d -o results/run-1 --files summary.csv log/last.txt",
    "flotilla tasks download 0lx3k9v2a7b4c1d -o results/run-1 --force",
  ]);
}

async function downloadTask(io: CliIo, id: string, options: DownloadOptions): Promise<void> {
  const dir = resolve(options.outputDir ?? join(loadOutputRoot(), id, "outputs"));
  if (options.force !== true && (await holdsFiles(dir))) {
    throw new CliExit(
      EXIT.error,
      `${dir} already exists and is not empty; pass --force to write into it, or choose another --output-dir`,
    );
  }
  const client = await io.connect();
  const task = new Task(await client.getTask(id), client);
  const manifest = await client.getOutputManifest(id);
  const wanted = options.files ?? [];
  const bar = createProgressBar(
    { isTty: io.stderrIsTty, columns: io.columns, write: io.err },
    `Downloading ${id}`,
  );
  try {
    await task.downloadOutputs(dir, {
      files: wanted,
      onProgress: (received, expected) => bar.update(received, expected),
    });
  } finally {
    bar.finish();
  }
  const files =
    wanted.length === 0
      ? manifest.files
      : manifest.files.filter((file) => wanted.includes(file.path));
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  io.err(
    `Downloaded ${files.length} file(s), ${formatBytes(bytes)}, of task ${id} (${task.status}); sha256 verified.\n`,
  );
  io.out(`${dir}\n`);
}

async function holdsFiles(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code === "ENOTDIR")
      throw new CliExit(
        EXIT.error,
        `${dir} is a file, not a directory; choose another --output-dir`,
      );
    throw error;
  }
}
