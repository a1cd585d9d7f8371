// `flotilla server stop`: SIGTERM to the server of a data dir, then wait until it has exited (it
// stops its machines first, then connections, and removes server.json).
import { watch } from "node:fs";
import type { Command } from "commander";
import { secondsAsMs, withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import { resolveDataDir, type CliIo } from "../../io.js";
import { formatDuration } from "../../output/durations.js";
import { isProcessAlive, readServerFile } from "./status.js";

const DEFAULT_TIMEOUT_MS = 30_000;
/** The pid of a process that is not our child cannot be awaited: check it this often. */
const EXIT_CHECK_MS = 100;

export function registerServerStop(server: Command, io: CliIo): void {
  const command = server
    .command("stop")
    .description("stop the server of a data dir and wait until it has exited")
    .option(
      "--data-dir <dir>",
      "the server's data dir (env FLOTILLA_DATA_DIR, default ~/.flotilla)",
    )
    .option("-t, --timeout <seconds>", "how long to wait for it (default 30)", secondsAsMs)
    .action(async (options: { dataDir?: string; timeout?: number }) => {
      const dataDir = resolveDataDir(io, options.dataDir);
      const info = await readServerFile(dataDir);
      if (info === undefined || !isProcessAlive(info.pid)) {
        io.err(`No flotilla server is running for ${dataDir}; nothing to stop.\n`);
        return;
      }
      process.kill(info.pid, "SIGTERM");
      const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
      if (!(await waitForExit(info.pid, dataDir, timeoutMs))) {
        throw new CliExit(
          EXIT.error,
          `the server (pid ${info.pid}) is still running ${formatDuration(timeoutMs)} after SIGTERM; wait longer with --timeout, or end it with \`kill -9 ${info.pid}\``,
        );
      }
      io.err(`Stopped the flotilla server at ${info.url} (pid ${info.pid}).\n`);
    });
  withExamples(command, [
    "flotilla server stop",
    "flotilla server stop --data-dir /srv/flotilla --timeout 60",
  ]);
}

/** Resolves true once `pid` is gone; woken early by server.json going away. */
function waitForExit(pid: number, dataDir: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (isProcessAlive(pid)) return;
      finish(true);
    };
    const finish = (gone: boolean): void => {
      clearInterval(interval);
      clearTimeout(timer);
      watcher?.close();
      resolve(gone);
    };
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(dataDir, { persistent: false }, check);
    } catch {
      watcher = undefined;
    }
    const interval = setInterval(check, EXIT_CHECK_MS);
    const timer = setTimeout(() => finish(!isProcessAlive(pid)), timeoutMs);
    check();
  });
}
