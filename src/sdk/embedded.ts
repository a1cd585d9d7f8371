/**
 * Local servers started by the SDK: {@link openLocalServer} runs one as a child process that the
 * caller stops (tests, scripts), {@link ensureDefaultServer} finds or starts the detached embedded
 * default that outlives the program (DESIGN.md "SDK").
 *
 * Both run `node <package root>/bin/flotilla.js server start` and wait until the server has
 * written `<dataDir>/server.json` with the child's pid and answers `GET /healthz`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { EMBEDDED_PORT } from "../config/client-config.js";
import { FlotillaError } from "../domain/errors.js";
import type { ServerConnection } from "./http-client.js";

// build/src/sdk/embedded.js → the package root, three levels up.
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const CLI_PATH = join(PACKAGE_ROOT, "bin", "flotilla.js");
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;
const HEALTH_TIMEOUT_MS = 2_000;
const CLOSE_GRACE_MS = 10_000;
const OUTPUT_TAIL_BYTES = 8_192;

/** A server running as a child process of this one. */
export interface LocalServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The admin token of the data dir. */
  readonly token: string;
  /** `{ url, token }`, ready for `new Flotilla(connection)`. */
  readonly connection: ServerConnection;
  /** The server process id. */
  readonly pid: number;
  /** Stops the server: SIGTERM, then SIGKILL if it has not exited after 10 s. */
  close(): Promise<void>;
}

/** Options of {@link openLocalServer}. */
export interface OpenLocalServerOptions {
  /** Where the server keeps its store, inputs, outputs and logs. */
  readonly dataDir: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number | undefined;
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string | undefined;
}

const ServerInfo = z.object({ url: z.string(), pid: z.number(), startedAt: z.string() });
type ServerInfo = z.infer<typeof ServerInfo>;

interface ExitWatch {
  /** Resolves when the process exits (or failed to spawn); never rejects. */
  readonly exited: Promise<void>;
  readonly done: () => boolean;
  readonly describe: () => string;
}

/**
 * Starts `flotilla server start` as a child of this process and waits until it is ready.
 *
 * @example
 * ```ts
 * const server = await openLocalServer({ dataDir: "/tmp/flotilla-test" });
 * try {
 *   const client = new Flotilla(server.connection);
 *   console.log(await client.listMachineGroups());
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function openLocalServer(options: OpenLocalServerOptions): Promise<LocalServer> {
  const args = [
    "server",
    "start",
    "--data-dir",
    options.dataDir,
    "--port",
    String(options.port ?? 0),
  ];
  if (options.host !== undefined) args.push("--host", options.host);
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr = collectTail(child);
  const exit = watchExit(child, () => stderr());
  let info: ServerInfo;
  let token: string;
  try {
    info = await waitForServer(options.dataDir, child.pid, exit);
    token = await readAdminToken(options.dataDir);
  } catch (error) {
    child.kill("SIGKILL");
    await exit.exited;
    throw error;
  }
  return {
    url: info.url,
    token,
    connection: { url: info.url, token },
    pid: info.pid,
    close: () => stopChild(child, exit),
  };
}

/**
 * The connection of the embedded default server in `dataDir`: the one `server.json` describes
 * when it is alive and healthy, else a new detached server on port 7878 that writes
 * `{ url, token }` to `credentialsFile` and logs to `<dataDir>/server.log`.
 *
 * @example
 * ```ts
 * const connection = await ensureDefaultServer(`${home}/.flotilla`, `${home}/.config/flotilla/credentials.json`);
 * ```
 */
export async function ensureDefaultServer(
  dataDir: string,
  credentialsFile: string,
  port: number = EMBEDDED_PORT,
): Promise<ServerConnection> {
  const running = await findRunningServer(dataDir);
  if (running !== undefined) return { url: running.url, token: await readAdminToken(dataDir) };
  await mkdir(dataDir, { recursive: true });
  const logPath = join(dataDir, "server.log");
  const args = ["server", "start", "--data-dir", dataDir, "--port", String(port)];
  args.push("--write-credentials", credentialsFile);
  const log = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [CLI_PATH, ...args], {
      detached: true,
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  const exit = watchExit(child, () => readTail(logPath));
  child.unref();
  try {
    const info = await waitForServer(dataDir, child.pid, exit);
    return { url: info.url, token: await readAdminToken(dataDir) };
  } catch (error) {
    if (!exit.done()) child.kill("SIGTERM");
    // Another program may have started the default server at the same moment: use that one.
    const other = await findRunningServer(dataDir);
    if (other !== undefined) return { url: other.url, token: await readAdminToken(dataDir) };
    throw error;
  }
}

async function waitForServer(
  dataDir: string,
  pid: number | undefined,
  exit: ExitWatch,
): Promise<ServerInfo> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exit.done()) {
      throw new FlotillaError(
        "UNAVAILABLE",
        `the flotilla server for data dir ${dataDir} stopped before it was ready: ${exit.describe()}`,
      );
    }
    const info = readServerInfo(dataDir);
    if (info !== undefined && info.pid === pid && (await isHealthy(info.url))) return info;
    if (Date.now() > deadline) {
      throw new FlotillaError(
        "UNAVAILABLE",
        `the flotilla server for data dir ${dataDir} was not ready after ${READY_TIMEOUT_MS / 1000} s; its output so far: ${exit.describe()}`,
      );
    }
    await Promise.race([delay(READY_POLL_MS), exit.exited]);
  }
}

async function findRunningServer(dataDir: string): Promise<ServerInfo | undefined> {
  const info = readServerInfo(dataDir);
  if (info === undefined || !isProcessAlive(info.pid)) return undefined;
  return (await isHealthy(info.url)) ? info : undefined;
}

function readServerInfo(dataDir: string): ServerInfo | undefined {
  try {
    const parsed = ServerInfo.safeParse(
      JSON.parse(readFileSync(join(dataDir, "server.json"), "utf8")),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not written yet (the server writes it with a rename, never half)
  }
}

async function isHealthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, {
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readAdminToken(dataDir: string): Promise<string> {
  const path = join(dataDir, "admin-token");
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (error) {
    throw new FlotillaError(
      "UNAUTHORIZED",
      `cannot read the admin token ${path} (${(error as Error).message}); the server creates it on first start, or pass a token`,
      { cause: error },
    );
  }
}

function watchExit(child: ChildProcess, output: () => string): ExitWatch {
  let status: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      status = signal === null ? `exit code ${code ?? "?"}` : `signal ${signal}`;
      resolve();
    });
    child.once("error", (error) => {
      status = `could not start ${process.execPath} ${CLI_PATH}: ${error.message}`;
      resolve();
    });
  });
  return {
    exited,
    done: () => status !== undefined,
    describe: () => `${status ?? "still running"}; ${output().trim() || "(no output)"}`,
  };
}

async function stopChild(child: ChildProcess, exit: ExitWatch): Promise<void> {
  if (exit.done()) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), CLOSE_GRACE_MS);
  await exit.exited;
  clearTimeout(timer);
}

// Keeps the last bytes of the child's stderr, reading it all the time so the pipe never fills.
function collectTail(child: ChildProcess): () => string {
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-OUTPUT_TAIL_BYTES);
  });
  return () => tail;
}

// The end of a log that may have grown over many runs: read only its last bytes.
function readTail(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, OUTPUT_TAIL_BYTES));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return `last lines of ${path}: ${buffer.toString("utf8")}`;
  } catch {
    return `(no log at ${path})`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
