// Provider `local`: each machine is a real `flotilla runner start` child process on the server's
// host. The runner token goes through the environment, never the command line (ps shows argv).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createId } from "../domain/ids.js";
import {
  elasticLimitsOf,
  type MachineGroup,
  type MachineProvider,
} from "../domain/machine-group.js";
import { killRecordedProcessGroups } from "../runner/process-group-file.js";
import { createReplacementBudget, runnerArguments } from "./machine-runner.js";

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

interface LocalMachine {
  readonly group: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Stopped on purpose (an elastic group shrinking): its exit is not a crash to repair. */
  stopping: boolean;
}

export function createLocalProvider(options: LocalProviderOptions): MachineProvider {
  const children = new Map<string, LocalMachine>();
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  // Groups stopped (or being stopped): their machines' exits are expected, not crashes to repair.
  const stopping = new Set<string>();
  let closed = false;
  const replacements = createReplacementBudget(200);

  const startOne = (group: MachineGroup, token: string): string => {
    const machineId = createId();
    const dir = join(options.dataDir, "machines", machineId);
    mkdirSync(dir, { recursive: true });
    const logFd = openSync(join(dir, "runner.log"), "a");
    const args = runnerArguments(options.cliPath, options.serverUrl(), group, machineId, dir);
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", logFd, logFd],
      env: {
        ...process.env,
        FLOTILLA_TOKEN: token,
        FLOTILLA_RUNNER_CPUS: String(cpuShare(group)),
        FLOTILLA_PARENT_PID: String(process.pid),
      },
    });
    closeSync(logFd);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.once("exit", (code, signal) => {
      children.delete(machineId);
      options.log("machine exited", { machineId, group: group.name, code, signal });
      // A runner ends with 0 when its group ends or the server tells it to stop; anything else is
      // a crash, or a signal from outside (SIGTERM: 143, after handing its task back): replace
      // the machine while the group runs, unless this provider stopped it. A crashed runner's
      // task returns to the queue when its lease expires.
      const crashed = code !== 0 || signal !== null;
      if (!crashed) return;
      // The task's processes lead their own group and would outlive their runner: end them.
      const orphans = killRecordedProcessGroups(join(dir, "work"));
      if (orphans > 0)
        options.log("killed the processes of a dead machine", { machineId, orphans });
      if (closed || stopping.has(group.name) || entry.stopping) return;
      const delayMs = replacements.next(group.name);
      if (delayMs === undefined) {
        options.log("machine keeps crashing; not replacing it", { group: group.name });
        return;
      }
      setTimeout(() => {
        if (!closed && !stopping.has(group.name)) startOne(group, token);
      }, delayMs).unref();
    });
    const entry: LocalMachine = { group: group.name, child, exited, stopping: false };
    children.set(machineId, entry);
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
      stopping.delete(group.name); // a group of this name may be made again
      return Promise.resolve(Array.from({ length: count }, () => startOne(group, token)));
    },
    async stopMachines(group) {
      stopping.add(group.name);
      await stop([...children.values()].filter((entry) => entry.group === group.name));
    },
    async stopMachine(_group, machineId) {
      const entry = children.get(machineId);
      if (entry === undefined) return;
      entry.stopping = true;
      await stop([entry]);
    },
    listMachines(group) {
      return [...children.entries()]
        .filter(([, entry]) => entry.group === group.name)
        .map(([id]) => id);
    },
    async close() {
      closed = true;
      await stop([...children.values()]);
    },
  };
}

/**
 * The cores each machine of a local group may use ({cpus} in recipes): the host's cores shared
 * among the group's machines (at its largest, for an elastic group), so that a group of 4 solvers
 * on a 4-core host does not run 4 × 4 threads.
 */
export function cpuShare(group: MachineGroup, cores = availableParallelism()): number {
  const size = Math.max(group.numMachines, elasticLimitsOf(group)?.maxMachines ?? 0, 1);
  return Math.max(1, Math.floor(cores / size));
}
