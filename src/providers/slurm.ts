// Provider `slurm`: each machine is one pilot job (`sbatch`) that runs `flotilla runner start` for
// its group. The runner token reaches the job through sbatch's environment (`--export` names the
// variable; its value never appears in argv). The provider polls squeue for its pilots: a pilot
// that ended without being asked to (scancel from outside, node failure, time limit) is reported
// through `onMachineLost` and replaced while its group runs.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FlotillaError } from "../domain/errors.js";
import { createId } from "../domain/ids.js";
import type { MachineGroup, MachineProvider } from "../domain/machine-group.js";
import {
  buildSbatch,
  buildScancel,
  buildSqueue,
  isUnknownJobError,
  parseSbatchOutput,
  parseSqueueOutput,
  phaseOf,
  runSlurmCommand,
  SlurmCommandError,
  type SlurmCommand,
} from "./slurm-commands.js";
import { createReplacementBudget, runnerArguments } from "./machine-runner.js";

export interface SlurmProviderOptions {
  /** The server's URL as the compute nodes reach it, known once it listens. */
  readonly serverUrl: () => string;
  /** Path of the CLI launcher (bin/flotilla.js), at the same path on the compute nodes. */
  readonly cliPath: string;
  /** Node binary on the compute nodes; this process's own by default. */
  readonly nodePath?: string | undefined;
  /** Pilot logs and runner work dirs go under `<dataDir>/machines/<id>` (a shared filesystem). */
  readonly dataDir: string;
  /** How often squeue is asked about the pilots; default 5 s. */
  readonly pollMs?: number | undefined;
  /** How long stopping waits for cancelled pilots to leave squeue; default 60 s. */
  readonly stopTimeoutMs?: number | undefined;
  /** A pilot ended that nobody stopped: its machine is lost (its task is retried or failed). */
  readonly onMachineLost: (machineId: string, why: string) => Promise<void>;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /** Runs a Slurm command; the real one unless a test substitutes it. */
  readonly run?: ((command: SlurmCommand, env?: NodeJS.ProcessEnv) => Promise<string>) | undefined;
}

interface Pilot {
  readonly machineId: string;
  readonly group: MachineGroup;
  readonly token: string;
  readonly jobId: string;
  /** Cancelled on purpose: its end is expected, not a loss. */
  stopping: boolean;
  readonly gone: Promise<void>;
  readonly markGone: () => void;
}

/** The batch script: its arguments are the runner's command line. */
const PILOT_SCRIPT = `#!/bin/sh
# flotilla pilot job: one machine of a machine group (written by the slurm provider).
exec "$@"
`;

/** What sbatch says when it refuses the request itself (not when Slurm is down). */
const REFUSED_REQUEST =
  /invalid (partition|account|qos|--time|time limit|node|--mem)|requested node configuration is not available|requested time limit|memory required|memory specification|more processors requested than permitted/i;

/** sbatch refusing the group's options is the user's to fix: INVALID_INPUT, with Slurm's words. */
function asOptionsError(error: unknown, group: string): unknown {
  if (!(error instanceof SlurmCommandError) || !REFUSED_REQUEST.test(error.stderr)) return error;
  const said = error.stderr.trim().split("\n").slice(-2).join("; ");
  return new FlotillaError(
    "INVALID_INPUT",
    `Slurm refused the options of machine group ${group} (${said}); check partition, account, cpusPerMachine, memoryMb and timeLimit against \`sinfo\` and start the group again`,
    { cause: error },
  );
}

export function createSlurmProvider(options: SlurmProviderOptions): MachineProvider {
  const run =
    options.run ?? ((command, env) => runSlurmCommand(command, { env, timeoutMs: 60_000 }));
  const pollMs = options.pollMs ?? 5_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
  const pilots = new Map<string, Pilot>();
  const stoppingGroups = new Set<string>();
  const replacements = createReplacementBudget(500);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  const scriptPath = join(options.dataDir, "slurm", "pilot.sh");
  mkdirSync(join(options.dataDir, "slurm"), { recursive: true });
  writeFileSync(scriptPath, PILOT_SCRIPT);
  chmodSync(scriptPath, 0o755);

  const submit = async (group: MachineGroup, token: string): Promise<string> => {
    const machineId = createId();
    const dir = join(options.dataDir, "machines", machineId);
    mkdirSync(dir, { recursive: true });
    const { partition, cpusPerMachine, memoryMb, timeLimit, account } = group.options;
    const command = buildSbatch({
      jobName: `flotilla-${group.name}`,
      script: scriptPath,
      args: [
        options.nodePath ?? process.execPath,
        ...runnerArguments(options.cliPath, options.serverUrl(), group, machineId, dir),
      ],
      output: join(dir, "pilot-%j.log"),
      workDir: dir,
      exportNames: ["FLOTILLA_TOKEN"],
      partition: asString(partition),
      cpusPerTask: asNumber(cpusPerMachine),
      memoryMb: asNumber(memoryMb),
      timeLimit: asString(timeLimit),
      account: asString(account),
    });
    const { jobId } = parseSbatchOutput(
      await run(command, { ...process.env, FLOTILLA_TOKEN: token }).catch((error: unknown) => {
        throw asOptionsError(error, group.name);
      }),
    );
    let markGone = (): void => undefined;
    const gone = new Promise<void>((resolve) => (markGone = resolve));
    pilots.set(machineId, { machineId, group, token, jobId, stopping: false, gone, markGone });
    options.log("pilot submitted", { machineId, group: group.name, jobId });
    schedule();
    return machineId;
  };

  // One squeue for every pilot; a pilot listed as ended, or no longer listed, is gone.
  const poll = async (): Promise<void> => {
    const tracked = [...pilots.values()];
    if (tracked.length === 0) return;
    let rows: ReturnType<typeof parseSqueueOutput>;
    try {
      rows = parseSqueueOutput(await run(buildSqueue(tracked.map((pilot) => pilot.jobId))));
    } catch (error) {
      if (!(error instanceof SlurmCommandError && isUnknownJobError(error.stderr))) {
        options.log("squeue failed; will ask again", { error: String(error) });
        return;
      }
      rows = []; // none of them is known any more
    }
    const byId = new Map(rows.map((row) => [row.jobId.baseId, row]));
    for (const pilot of tracked) {
      const row = byId.get(pilot.jobId);
      if (row !== undefined && phaseOf(row.state) !== "ended") continue;
      ended(pilot, row?.state ?? "GONE", row?.reason ?? "no longer listed by squeue");
    }
  };

  const ended = (pilot: Pilot, state: string, reason: string): void => {
    pilots.delete(pilot.machineId);
    pilot.markGone();
    if (pilot.stopping || closed) return;
    const why = `Slurm job ${pilot.jobId} of machine ${pilot.machineId} ended ${state}${reason === "None" ? "" : ` (${reason})`}`;
    options.log("pilot ended", { machineId: pilot.machineId, jobId: pilot.jobId, state, reason });
    options
      .onMachineLost(pilot.machineId, why)
      .catch((error: unknown) =>
        options.log("could not record a lost machine", { error: String(error) }),
      );
    // COMPLETED: the runner exited by itself (its group ended, or it was told to stop).
    if (state === "COMPLETED" || stoppingGroups.has(pilot.group.name)) return;
    const delayMs = replacements.next(pilot.group.name);
    if (delayMs === undefined) {
      options.log("pilots keep ending; not replacing them", { group: pilot.group.name });
      return;
    }
    setTimeout(() => {
      if (closed || stoppingGroups.has(pilot.group.name)) return;
      submit(pilot.group, pilot.token).catch((error: unknown) =>
        options.log("could not submit a replacement pilot", { error: String(error) }),
      );
    }, delayMs).unref();
  };

  // Polls at `pollMs`, faster while some pilot is being stopped (someone waits for it).
  function schedule(): void {
    if (timer !== undefined || closed || pilots.size === 0) return;
    const waiting = [...pilots.values()].some((pilot) => pilot.stopping);
    timer = setTimeout(
      () => {
        timer = undefined;
        polling ??= poll().finally(() => {
          polling = undefined;
          schedule();
        });
      },
      waiting ? Math.min(pollMs, 250) : pollMs,
    );
    timer.unref();
  }

  const stop = async (targets: Pilot[]): Promise<void> => {
    if (targets.length === 0) return;
    for (const pilot of targets) pilot.stopping = true;
    await run(buildScancel(targets.map((pilot) => pilot.jobId)));
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    schedule();
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      deadline = setTimeout(() => resolve(true), stopTimeoutMs);
    });
    const late = await Promise.race([
      Promise.all(targets.map((pilot) => pilot.gone)).then(() => false),
      timedOut,
    ]);
    clearTimeout(deadline);
    if (late) {
      options.log("cancelled pilots are still listed by squeue", {
        jobIds: targets.filter((pilot) => pilots.has(pilot.machineId)).map((pilot) => pilot.jobId),
      });
    }
  };

  const ofGroup = (group: MachineGroup): Pilot[] =>
    [...pilots.values()].filter((pilot) => pilot.group.name === group.name);

  return {
    async startMachines(group, count, token) {
      stoppingGroups.delete(group.name); // a group of this name may be made again
      const submitted: string[] = [];
      try {
        for (let i = 0; i < count; i += 1) submitted.push(await submit(group, token));
      } catch (error) {
        // All or nothing: the group is not made, so its pilots must not linger.
        await stop(submitted.flatMap((id) => pilots.get(id) ?? [])).catch(() => undefined);
        throw error;
      }
      return submitted;
    },
    async stopMachines(group) {
      stoppingGroups.add(group.name);
      await stop(ofGroup(group));
    },
    async stopMachine(_group, machineId) {
      const pilot = pilots.get(machineId);
      if (pilot !== undefined) await stop([pilot]);
    },
    listMachines(group) {
      return ofGroup(group)
        .filter((pilot) => !pilot.stopping)
        .map((pilot) => pilot.machineId);
    },
    async close() {
      await stop([...pilots.values()]).catch((error: unknown) =>
        options.log("could not cancel the pilots", { error: String(error) }),
      );
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await polling;
    },
  };
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
