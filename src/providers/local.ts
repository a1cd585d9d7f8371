// Provider `local`: each machine is a real `flotilla runner start` child process on the server's
// host. The runner token goes through the environment, never the command line (ps shows argv).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { createId } from "../domain/ids.js";
import type { MachineGroup, MachineProvider } from "../domain/machine-group.js";

export interface LocalProviderOptions {
  /** The server's URL, known once it listens. */
  readonly serverUrl: () => string;
  /** Path of the CLI launcher (bin/flotilla.js). */
  readonly cliPath: string;
  /** Runner working dirs and logs go under here. */
  readonly dataDir: string;
  /** How long a machine may take to stop after SIGTERM before SIGKILL. */
  readonly stopTimeoutMs?: number;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
}

export function createLocalProvider(options: LocalProviderOptions): MachineProvider {
  const children = new Map<string, { group: string; child: ChildProcess; exited: Promise<void> }>();
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;

  const startOne = (group: MachineGroup, token: string): string => {
    const machineId = createId();
    const dir = join(options.dataDir, "machines", machineId);
    mkdirSync(dir, { recursive: true });
    const logFd = openSync(join(dir, "runner.log"), "a");
    const args = [
      "--enable-source-maps",
      options.cliPath,
      "runner",
      "start",
      "--server",
      options.serverUrl(),
      "--machine-group",
      group.name,
      "--machine-id",
      machineId,
      "--work-dir",
      join(dir, "work"),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", logFd, logFd],
      env: { ...process.env, FLOTILLA_TOKEN: token },
    });
    closeSync(logFd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.once("exit", (code, signal) => {
      children.delete(machineId);
      options.log("machine exited", { machineId, group: group.name, code, signal });
    });
    children.set(machineId, { group: group.name, child, exited });
    return machineId;
  };

  const stop = async (entries: { child: ChildProcess; exited: Promise<void> }[]): Promise<void> => {
    for (const { child } of entries) child.kill("SIGTERM");
    await Promise.all(
      entries.map(async ({ child, exited }) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  };

  return {
    startMachines(group, count, token) {
      return Promise.resolve(Array.from({ length: count }, () => startOne(group, token)));
    },
    async stopMachines(group) {
      await stop([...children.values()].filter((entry) => entry.group === group.name));
    },
    async close() {
      await stop([...children.values()]);
    },
  };
}
