// A real server on 127.0.0.1:0 in this test process, with the real local provider: machine
// groups are real `flotilla runner` child processes talking real HTTP.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServerConfig } from "../../src/config/server-config.js";
import { startServer, type RunningServer } from "../../src/server/main.js";

export interface RealServer {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly server: RunningServer;
  /** Stops the server and its machines; keeps the data dir (for restart tests). */
  stop(): Promise<void>;
  /** Stops and removes the data dir. */
  close(): Promise<void>;
}

export async function startRealServer(
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<RealServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "flotilla-e2e-")));
  const config = loadServerConfig(
    { dataDir, port: 0 },
    { FLOTILLA_DEFAULT_MACHINES: "2", ...options.env },
  );
  const server = await startServer(config, () => undefined);
  const token = (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  return {
    url: server.url,
    token,
    dataDir,
    server,
    stop,
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value or the deadline passes (for conditions outside our events). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** True while a process with this pid exists and is not a zombie (PID 1 here may not reap). */
export { isProcessAlive as isAlive } from "../../src/runner/process-table.js";
