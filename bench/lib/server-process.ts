// A real `flotilla server start` child process on 127.0.0.1:0 with its own data dir, so that its
// memory is its own (the bench's client work does not count). Machines of local groups are the
// server's children and stop with it.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Flotilla } from "../../src/sdk/index.js";
import { openSqliteTaskStore } from "../../src/store/sqlite/sqlite-task-store.js";
import { readMemoryMb } from "./processes.js";
import { waitFor } from "./stats.js";

export const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), "../../../bin/flotilla.js");

/** A group whose tasks stay queued: it has no machines (made in the store before the server starts). */
export const PARKED_GROUP = "bench-parked";

export interface ServerProcess {
  readonly url: string;
  readonly token: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly client: Flotilla;
  memory(): Promise<{ rssMb: number; peakRssMb: number }>;
  /** SIGTERM (the server stops its machines first), SIGKILL after 30 s. */
  stop(): Promise<void>;
}

/** Adds the machine-less group PARKED_GROUP to a data dir's store (before the server opens it). */
export async function addParkedGroup(dataDir: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const store = openSqliteTaskStore(join(dataDir, "flotilla.db"));
  try {
    await store.createMachineGroup({
      name: PARKED_GROUP,
      owner: "admin",
      provider: "local",
      numMachines: 0,
      options: {},
      createdAt: Date.now(),
    });
  } finally {
    await store.close();
  }
}

export async function startServerProcess(dataDir: string): Promise<ServerProcess> {
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [CLI_PATH, "server", "start", "--data-dir", dataDir, "--port", "0"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const info = await waitFor(
      "the server to write server.json",
      async () => {
        if (child.exitCode !== null) throw new Error(`server exited early: ${stderr}`);
        const path = join(dataDir, "server.json");
        if (!existsSync(path)) return undefined;
        return JSON.parse(await readFile(path, "utf8")) as { url: string };
      },
      30_000,
    );
    const token = (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
    return describe(child, exited, dataDir, info.url, token);
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
}

function describe(
  child: ChildProcess,
  exited: Promise<void>,
  dataDir: string,
  url: string,
  token: string,
): ServerProcess {
  const pid = child.pid as number;
  return {
    url,
    token,
    pid,
    dataDir,
    client: new Flotilla({ url, token }),
    memory: () => readMemoryMb(pid),
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Starts a local group of `machines` and waits until all of them are registered and idle. */
export async function startLocalGroup(
  server: ServerProcess,
  name: string,
  machines: number,
): Promise<void> {
  await server.client.createMachineGroup({ name, provider: "local", numMachines: machines });
  await waitFor(
    `${machines} idle machines in ${name}`,
    async () => {
      const group = await server.client.getMachineGroup(name);
      const idle = group.machines.filter((machine) => machine.status === "idle").length;
      return idle >= machines ? true : undefined;
    },
    60_000,
    50,
  );
}
