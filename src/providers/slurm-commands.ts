// The one module that speaks Slurm: builds sbatch/scancel/squeue/sacct argv, runs them with
// execFile (no shell, so no quoting and no injection) and parses their machine-readable output
// (`--parsable`, `-h -o <format>`, `sacct -n -P`). Tested against output captured from a real
// cluster (tests/providers/fixtures/slurm/capture.sh).
import { execFile, type ExecFileException } from "node:child_process";

/** A command line: what to run and its argv. */
export interface SlurmCommand {
  readonly file: string;
  readonly args: readonly string[];
}

// --- job ids -----------------------------------------------------------------------------------

/** A job id as squeue/sacct print it: `123`, `123_4` / `123_[0-9]` (array), `123+1` (het). */
export interface SlurmJobId {
  /** The id as printed. */
  readonly text: string;
  /** The job (array master or het leader) id: `123` for all three forms. */
  readonly baseId: string;
  /** Array task id or pending range (`4`, `[0-9]`), when the job is an array. */
  readonly arrayTask?: string | undefined;
  /** Component offset of a heterogeneous job. */
  readonly hetOffset?: number | undefined;
}

const JOB_ID = /^(\d+)(?:_(\d+|\[[^\]]*\]))?(?:\+(\d+))?$/;

/** Parses a printed job id; undefined when it is not one. */
export function parseJobId(text: string): SlurmJobId | undefined {
  const match = JOB_ID.exec(text.trim());
  if (match === null) return undefined;
  const [, baseId = "", arrayTask, het] = match;
  return {
    text: text.trim(),
    baseId,
    arrayTask,
    hetOffset: het === undefined ? undefined : Number(het),
  };
}

/** `sbatch --parsable` prints `<job id>` or `<job id>;<cluster>`. */
export function parseSbatchOutput(stdout: string): { jobId: string; cluster?: string | undefined } {
  const line = stdout.trim().split("\n").at(-1)?.trim() ?? "";
  const match = /^(\d+)(?:;(.+))?$/.exec(line);
  if (match === null) throw new Error(`sbatch printed no job id (got "${stdout.trim()}")`);
  return { jobId: match[1] ?? "", cluster: match[2] };
}

// --- job states --------------------------------------------------------------------------------

/** What a job state means for a pilot. Unknown (future) states count as `active`: never lost. */
export type SlurmPhase = "waiting" | "active" | "ending" | "ended";

const PHASES: Readonly<Record<string, SlurmPhase>> = {
  PENDING: "waiting",
  CONFIGURING: "waiting",
  REQUEUED: "waiting",
  REQUEUE_HOLD: "waiting",
  REQUEUE_FED: "waiting",
  RESV_DEL_HOLD: "waiting",
  RUNNING: "active",
  SUSPENDED: "active",
  STOPPED: "active",
  SIGNALING: "active",
  RESIZING: "active",
  COMPLETING: "ending",
  STAGE_OUT: "ending",
  COMPLETED: "ended",
  CANCELLED: "ended",
  FAILED: "ended",
  TIMEOUT: "ended",
  NODE_FAIL: "ended",
  OUT_OF_MEMORY: "ended",
  PREEMPTED: "ended",
  BOOT_FAIL: "ended",
  DEADLINE: "ended",
  REVOKED: "ended",
  SPECIAL_EXIT: "ended",
};

/** The phase of a long state name (`RUNNING`) or a sacct state with detail (`CANCELLED by 0`). */
export function phaseOf(state: string): SlurmPhase {
  return PHASES[parseJobState(state).state] ?? "active";
}

/** sacct prints `CANCELLED by <uid>`; squeue prints the bare name. */
export function parseJobState(text: string): { state: string; by?: string | undefined } {
  const [state = "", by, uid] = text.trim().split(/\s+/);
  return { state, by: by === "by" ? uid : undefined };
}

// --- sbatch ------------------------------------------------------------------------------------

export interface SbatchRequest {
  readonly jobName: string;
  /** The batch script; `args` become its positional parameters (passed as argv, not a shell line). */
  readonly script: string;
  readonly args: readonly string[];
  /** `%j` is replaced by the job id. */
  readonly output: string;
  readonly workDir: string;
  /** Names of variables passed from sbatch's environment to the job (values stay out of argv). */
  readonly exportNames: readonly string[];
  readonly partition?: string | undefined;
  readonly cpusPerTask?: number | undefined;
  readonly memoryMb?: number | undefined;
  /** Slurm syntax: `minutes`, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`, `UNLIMITED`. */
  readonly timeLimit?: string | undefined;
  readonly account?: string | undefined;
}

/** One single-task job that Slurm never requeues by itself: a lost pilot is replaced instead. */
export function buildSbatch(request: SbatchRequest): SlurmCommand {
  const optional: [string, string | number | undefined][] = [
    ["--partition", request.partition],
    ["--cpus-per-task", request.cpusPerTask],
    ["--mem", request.memoryMb === undefined ? undefined : `${request.memoryMb}M`],
    ["--time", request.timeLimit],
    ["--account", request.account],
  ];
  return {
    file: "sbatch",
    args: [
      "--parsable",
      `--job-name=${request.jobName}`,
      "--nodes=1",
      "--ntasks=1",
      "--no-requeue",
      `--chdir=${request.workDir}`,
      `--output=${request.output}`,
      `--export=${request.exportNames.join(",")}`,
      ...optional.flatMap(([flag, value]) => (value === undefined ? [] : [`${flag}=${value}`])),
      request.script,
      ...request.args,
    ],
  };
}

// --- scancel -----------------------------------------------------------------------------------

/** Cancels jobs; Slurm says nothing (exit 0) for jobs already ended or unknown. */
export function buildScancel(jobIds: readonly string[]): SlurmCommand {
  return { file: "scancel", args: [...jobIds] };
}

// --- squeue ------------------------------------------------------------------------------------

/** Fields: id as printed, raw numeric id, long state, reason, nodes, name (last: may hold `|`). */
export const SQUEUE_FORMAT = "%i|%A|%T|%r|%N|%j";

export interface SqueueRow {
  readonly jobId: SlurmJobId;
  /** The numeric id of this row (an array task or het component has its own). */
  readonly rawId: string;
  readonly state: string;
  readonly reason: string;
  readonly nodes: string;
  readonly name: string;
}

/** Jobs by id in every state, ended ones included (they stay listed for MinJobAge, 300 s). */
export function buildSqueue(jobIds: readonly string[]): SlurmCommand {
  return { file: "squeue", args: ["-h", "-t", "all", "-o", SQUEUE_FORMAT, "-j", jobIds.join(",")] };
}

export function parseSqueueOutput(stdout: string): SqueueRow[] {
  return splitRows(stdout, 6).map(
    ([id = "", rawId = "", state = "", reason = "", nodes = "", name = ""]) => ({
      jobId: requireJobId(id, "squeue"),
      rawId,
      state,
      reason,
      nodes,
      name,
    }),
  );
}

/** squeue fails when none of the ids it was given is known (any more). */
export function isUnknownJobError(stderr: string): boolean {
  return /Invalid job id specified/i.test(stderr);
}

// --- sacct -------------------------------------------------------------------------------------

export const SACCT_FIELDS = "JobIDRaw,JobID,State,ExitCode,JobName";

export interface SacctRow {
  readonly rawId: string;
  readonly jobId: SlurmJobId;
  readonly state: string;
  /** Who cancelled it (uid), from `CANCELLED by <uid>`. */
  readonly cancelledBy?: string | undefined;
  readonly exitCode?: number | undefined;
  readonly signal?: number | undefined;
  readonly name: string;
}

/**
 * Final states from the accounting database. `completion` reads the job completion log instead
 * (`sacct -c`): the only record a cluster without slurmdbd keeps (like the dev cluster).
 */
export function buildSacct(
  jobIds: readonly string[],
  options: { completion?: boolean } = {},
): SlurmCommand {
  const args = ["-n", "-P", "-X", "-o", SACCT_FIELDS, "-j", jobIds.join(",")];
  return { file: "sacct", args: options.completion === true ? ["-c", ...args] : args };
}

export function parseSacctOutput(stdout: string): SacctRow[] {
  return splitRows(stdout, 5).map(([rawId = "", id = "", stateText = "", exit = "", name = ""]) => {
    const { state, by } = parseJobState(stateText);
    const [code, signal] = exit.split(":").map((part) => (part === "" ? undefined : Number(part)));
    return {
      rawId,
      jobId: requireJobId(id, "sacct"),
      state,
      cancelledBy: by,
      exitCode: code,
      signal,
      name,
    };
  });
}

/** sacct on a cluster without slurmdbd. */
export function isAccountingDisabledError(stderr: string): boolean {
  return /accounting storage is disabled/i.test(stderr);
}

// --- sinfo -------------------------------------------------------------------------------------

/** Node states, one per line (`idle`, `mixed`, `allocated`, `down*`, ...). */
export function buildSinfo(): SlurmCommand {
  return { file: "sinfo", args: ["-h", "-o", "%T"] };
}

/** True when some node can take jobs now. */
export function hasUsableNode(sinfoStdout: string): boolean {
  return sinfoStdout
    .split("\n")
    .some((line) => /^(idle|mixed|allocated|completing)$/.test(line.trim()));
}

// --- running -----------------------------------------------------------------------------------

/** A Slurm command that could not run or exited non-zero; `stderr` holds Slurm's own words. */
export class SlurmCommandError extends Error {
  readonly command: SlurmCommand;
  readonly exitCode: number | undefined;
  readonly stderr: string;

  constructor(
    command: SlurmCommand,
    message: string,
    exitCode: number | undefined,
    stderr: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "SlurmCommandError";
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface RunOptions {
  /** The command's whole environment (how secrets reach sbatch without argv). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Slurm's own client retries take up to MessageTimeout (10 s) each. */
  readonly timeoutMs?: number | undefined;
}

/** Runs a command (no shell); resolves with its stdout, rejects with a SlurmCommandError. */
export function runSlurmCommand(command: SlurmCommand, options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command.file,
      command.args,
      { env: options.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        reject(describeFailure(command, error, stderr));
      },
    );
  });
}

function describeFailure(
  command: SlurmCommand,
  error: ExecFileException,
  stderr: string,
): SlurmCommandError {
  const said = stderr.trim().split("\n").slice(-3).join("; ");
  if (error.code === "ENOENT") {
    const message = `${command.file} was not found on PATH; install the Slurm client commands (Debian: slurm-client) on the server's host`;
    return new SlurmCommandError(command, message, undefined, stderr, error);
  }
  const exitCode = typeof error.code === "number" ? error.code : undefined;
  const how = error.killed === true ? "timed out" : `failed (exit ${exitCode ?? "?"})`;
  return new SlurmCommandError(
    command,
    `${command.file} ${how}: ${said || error.message}`,
    exitCode,
    stderr,
    error,
  );
}

// --- helpers -----------------------------------------------------------------------------------

/** Non-empty lines split on `|` into `fields` columns; the last column keeps any further `|`. */
function splitRows(stdout: string, fields: number): string[][] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const parts = line.split("|");
      return [...parts.slice(0, fields - 1), parts.slice(fields - 1).join("|")];
    });
}

function requireJobId(text: string, source: string): SlurmJobId {
  const id = parseJobId(text);
  if (id === undefined) throw new Error(`${source} printed an unexpected job id "${text}"`);
  return id;
}
