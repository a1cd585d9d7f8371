// A real `flotilla server start` child process on a fixed port and data dir, so that tests can
// kill it (SIGKILL, SIGTERM) and start it again on the same port and data.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, isAlive } from "./real-server.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "../../../bin/flotilla.js");

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the server wrote to stderr (its JSON log lines). */
  stderr(): string;
}

/** A port that was free a moment ago (the server binds it right after). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export async function startServerProcess(options: {
  dataDir: string;
  port: number;
  env?: Record<string, string>;
}): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      "--enable-source-maps",
      CLI,
      "server",
      "start",
      "--data-dir",
      options.dataDir,
      "--port",
      String(options.port),
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, FLOTILLA_DEFAULT_MACHINES: "1", ...options.env },
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${options.port}`;
  let gone = false;
  void exited.then(() => (gone = true));
  await eventually(
    async () => {
      if (gone) throw new Error(`the server exited before answering; its log:\n${stderr}`);
      const ok = await fetch(`${url}/healthz`)
        .then((response) => response.ok)
        .catch(() => false);
      return ok ? true : undefined;
    },
    30_000,
    "the server to answer /healthz",
  );
  return { url, pid: child.pid ?? 0, child, exited, stderr: () => stderr };
}

export async function readAdminToken(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
}

/** SIGKILLs what is still alive of `pids` (processes this test started, directly or not). */
export function killLeftovers(pids: Iterable<number>): number {
  let killed = 0;
  for (const pid of pids) {
    if (pid > 0 && isAlive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
        killed += 1;
      } catch {
        // gone meanwhile
      }
    }
  }
  return killed;
}
