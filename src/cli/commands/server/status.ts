// `flotilla server status`: is the server of a data dir running, where, since when. Reads
// `<dataDir>/server.json` (written while the server runs) and asks its /healthz.
// Exit code: 0 when it runs and answers, 1 otherwise (so `flotilla server status && ...` works).
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { withExamples } from "../../command-helpers.js";
import { CliExit, EXIT } from "../../exit.js";
import { resolveDataDir, type CliIo } from "../../io.js";
import { formatDuration, formatTime } from "../../output/durations.js";
import { printJson } from "../../output/json.js";
import { renderFields } from "../../output/table.js";

const ServerFile = z.object({ url: z.string(), pid: z.number(), startedAt: z.string() });
export type ServerFile = z.infer<typeof ServerFile>;

const HEALTH_TIMEOUT_MS = 2_000;

export function registerServerStatus(server: Command, io: CliIo): void {
  const command = server
    .command("status")
    .description("say whether the server of a data dir is running, and where")
    .option(
      "--data-dir <dir>",
      "the server's data dir (env FLOTILLA_DATA_DIR, default ~/.flotilla)",
    )
    .option("--json", "print the status as JSON")
    .action(async (options: { dataDir?: string; json?: boolean }) => {
      const dataDir = resolveDataDir(io, options.dataDir);
      const info = await readServerFile(dataDir);
      const alive = info !== undefined && isProcessAlive(info.pid);
      const healthy = alive && (await isHealthy(info.url));
      if (options.json === true) printJson(io, { dataDir, running: healthy, ...info });
      else if (info === undefined) io.out(`No flotilla server is running for ${dataDir}.\n`);
      else if (!alive)
        io.out(
          `No flotilla server is running for ${dataDir} (pid ${info.pid} of ${info.url} is gone).\n`,
        );
      else io.out(renderStatus(io, dataDir, info, healthy));
      if (!healthy) throw new CliExit(EXIT.error);
    });
  withExamples(command, [
    "flotilla server status",
    "flotilla server status --data-dir /srv/flotilla --json",
  ]);
}

function renderStatus(io: CliIo, dataDir: string, info: ServerFile, healthy: boolean): string {
  const state = healthy ? io.style.green("running") : io.style.red("not answering");
  return renderFields(
    [
      ["status", state],
      ["url", info.url],
      ["pid", String(info.pid)],
      [
        "started",
        `${formatTime(info.startedAt, io.isTty)} (${formatDuration(io.now() - Date.parse(info.startedAt))} ago)`,
      ],
      ["data dir", dataDir],
    ],
    io.style,
    "",
  );
}

/** `<dataDir>/server.json`, or undefined when there is none (no server, or a clean stop). */
export async function readServerFile(dataDir: string): Promise<ServerFile | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, "server.json"), "utf8");
  } catch {
    return undefined;
  }
  const parsed = ServerFile.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** True while `pid` exists and is not a zombie (where PID 1 does not reap, zombies linger). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (macOS): kill(0) is all we know
  }
}

async function isHealthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, {
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
