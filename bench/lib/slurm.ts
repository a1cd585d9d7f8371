// The Slurm peer: is a cluster here, submit `sbatch --wrap`, watch jobs until squeue shows them done.
import { hasCommand, runCommand } from "./processes.js";

/** Why Slurm cannot be measured here, or undefined when a node takes jobs. */
export async function probeSlurm(): Promise<string | undefined> {
  for (const command of ["sbatch", "squeue", "sinfo"]) {
    if (!(await hasCommand(command)))
      return `${command} is not on PATH (start a dev cluster: bash scripts/slurm-dev-cluster.sh start)`;
  }
  const info = await runCommand("sinfo", ["-h", "-o", "%T"]);
  if (info.code !== 0 || !/^(idle|mixed|allocated)/m.test(info.stdout)) {
    return `no Slurm node takes jobs (sinfo: ${(info.stdout + info.stderr).trim() || "nothing"}); run bash scripts/slurm-dev-cluster.sh start`;
  }
  return undefined;
}

/** Submits one batch job running `script` under job name `name`; returns its id. */
export async function submitWrap(name: string, script: string): Promise<string> {
  const result = await runCommand("sbatch", [
    "--parsable",
    "--job-name",
    name,
    "--output",
    "/dev/null",
    "--ntasks",
    "1",
    "--cpus-per-task",
    "1",
    "--mem",
    "64",
    "--wrap",
    script,
  ]);
  const id = result.stdout.trim().split(";")[0] ?? "";
  if (result.code !== 0 || !/^\d+$/.test(id)) {
    throw new Error(`sbatch failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return id;
}

/** Slurm did not run the jobs in time (another user's jobs hold the node): skip, do not fail. */
export class SlurmTimeoutError extends Error {
  constructor(what: string, waitMs: number) {
    super(
      `Slurm did not finish ${what} within ${Math.round(waitMs / 1000)} s (node busy with other jobs? see squeue)`,
    );
    this.name = "SlurmTimeoutError";
  }
}

/** Polls `isDone` until true; SlurmTimeoutError after `waitMs`. */
export async function waitForSlurm(
  what: string,
  isDone: () => Promise<boolean>,
  waitMs: number,
  intervalMs: number,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!(await isDone())) {
    if (Date.now() > deadline) throw new SlurmTimeoutError(what, waitMs);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const ACTIVE = new Set(["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED"]);

/** How many jobs named `name` squeue still shows pending, running or completing. */
export async function countActiveJobs(name: string): Promise<number> {
  const result = await runCommand("squeue", ["-h", "--name", name, "-o", "%i %T"]);
  if (result.code !== 0) throw new Error(`squeue failed: ${result.stderr.trim()}`);
  return result.stdout.split("\n").filter((line) => ACTIVE.has(line.trim().split(" ")[1] ?? ""))
    .length;
}

/** True once squeue no longer shows job `id` as active (ended jobs drop out or show an end state). */
export async function isJobDone(id: string): Promise<boolean> {
  const result = await runCommand("squeue", ["-h", "-j", id, "-o", "%T", "--states=all"]);
  const state = result.stdout.trim();
  // An ended job that left squeue's memory answers "Invalid job id" (exit 1): done.
  if (result.code !== 0) return /invalid job id/i.test(result.stderr);
  return state === "" || !ACTIVE.has(state);
}

/** Cancels every job named `name` (best effort; the bench leaves nothing running). */
export async function cancelJobs(name: string): Promise<void> {
  await runCommand("scancel", ["--name", name]).catch(() => undefined);
}
