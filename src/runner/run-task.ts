// One task on this machine, start to end: download and unpack the input into a fresh working
// directory, report started, run the commands in order (stop at the first non-zero exit), collect
// and upload the outputs, report finish. A kill or a lost lease can cut in at any step.
import { mkdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { FlotillaError } from "../domain/errors.js";
import {
  ArchiveRejectedError,
  DEFAULT_ARCHIVE_LIMITS,
  packDirectory,
  unpackArchive,
} from "../lib/archive.js";
import {
  STARTED_REPORT_DELAY_MS,
  type FinishRequest,
  type FoldedStarted,
} from "../protocol/runner.js";
import type { TaskView } from "../protocol/tasks.js";
import { isTransientError, retry } from "./backoff.js";
import type { Executor } from "./executor.js";
import { missingSimulator, prepareForHost, type HostFacts } from "./host-commands.js";
import { collectOutputs, type HashedFile, type InputSnapshot } from "./outputs.js";
import type { ClaimedTask, RunnerApi } from "./runner-api.js";
import { runCommands } from "./run-commands.js";
import { createTaskState, type TaskDirs, type TaskState } from "./task-state.js";
import { openTaskLogs, type TaskLogs } from "./task-logs.js";
import { findRecipe } from "../simulators/catalog.js";

export interface TaskContext {
  readonly api: RunnerApi;
  readonly machineId: string;
  /** The runner's work dir; tasks go under `<workDir>/tasks/`. */
  readonly workDir: string;
  readonly executor: Executor;
  readonly log: (line: string) => void;
  /** What the host can run; without it, placeholders get this process's view and nothing is checked. */
  readonly host?: HostFacts | undefined;
  /** Asked when finishing: true to have the next task come back with the finish answer. */
  readonly claimNext?: (() => boolean) | undefined;
  /** STARTED_REPORT_DELAY_MS unless set (tests choose "always folded" or "always sent"). */
  readonly startedReportDelayMs?: number | undefined;
}

/**
 * A task being run; `done` resolves when it is finished or dropped (it never rejects), with the
 * next task when the finish answer brought one (see `claimNext`).
 */
export interface TaskRun {
  readonly state: TaskState;
  readonly done: Promise<ClaimedTask | undefined>;
}

/** The end the runner reports, without machineId (added when sending). */
type Report = Omit<FinishRequest, "machineId">;

/**
 * Tries of each call to the server (backoff 200 ms doubling to 5 s): about a minute, so a
 * server that crashes and restarts (or is restarted by hand) does not cost the task.
 */
const SERVER_OUTAGE_ATTEMPTS = 16;

/** Thrown inside the phases once the server has given the task to another machine. */
class LeaseLost extends Error {}

export function taskDirsFor(workDir: string, task: Pick<TaskView, "id" | "attempt">): TaskDirs {
  const taskDir = join(workDir, "tasks", `${task.id}-${task.attempt}`);
  return {
    taskDir,
    workingDir: join(taskDir, "work"),
    stdoutPath: join(taskDir, "stdout.log"),
    stderrPath: join(taskDir, "stderr.log"),
  };
}

/** `input`: the archive that came with the claim (small inputs), else it is downloaded. */
export function startTask(ctx: TaskContext, task: TaskView, input?: Buffer): TaskRun {
  const dirs = taskDirsFor(ctx.workDir, task);
  const host = ctx.host ?? { cpus: availableParallelism(), environmentScripts: {}, simulators: {} };
  const state = createTaskState(prepareForHost(task, dirs.workingDir, host), dirs, ctx.log);
  const done = runTask(ctx, state, input).catch((error: unknown) => {
    ctx.log(`task ${task.id}: runner error: ${describe(error)}`);
    return undefined;
  });
  return { state, done };
}

async function runTask(
  ctx: TaskContext,
  state: TaskState,
  input?: Buffer,
): Promise<ClaimedTask | undefined> {
  const { task, dirs } = state;
  try {
    await rm(dirs.taskDir, { recursive: true, force: true });
    await mkdir(dirs.workingDir, { recursive: true });
    const report = await prepareAndRun(ctx, state, input);
    if (report === undefined) return undefined;
    return await sendFinish(ctx, state, report);
  } catch (error) {
    if (!(error instanceof LeaseLost)) throw error;
    return undefined;
  } finally {
    if (state.ending()?.kind === "lease-lost") {
      ctx.log(`task ${task.id}: the server gave it to another machine; dropped`);
    }
    await state.groupGone();
    // Finished tasks are introspected from their stored outputs, so the machine keeps nothing.
    await rm(dirs.taskDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The report to finish with, or undefined when the task was dropped. */
async function prepareAndRun(
  ctx: TaskContext,
  state: TaskState,
  inlineInput: Buffer | undefined,
): Promise<Report | undefined> {
  // Claimed by a machine that lacks the simulator (a group whose machines had not registered
  // when the task was submitted): fail it with the reason rather than "command not found".
  const missing = ctx.host === undefined ? undefined : missingSimulator(state.task, ctx.host);
  if (missing !== undefined) return { outcome: "error", reason: missing };
  const prepared = await guard(state, () => downloadInput(ctx, state, inlineInput));
  if (state.ending() !== undefined) return endedEarly(state);
  if ("error" in prepared) return { outcome: "error", reason: prepared.error };
  const logs = openTaskLogs({
    api: ctx.api,
    machineId: ctx.machineId,
    taskId: state.task.id,
    stdoutPath: state.dirs.stdoutPath,
    stderrPath: state.dirs.stderrPath,
    onLeaseLost: () => state.loseLease(),
    log: ctx.log,
  });
  const started = scheduleStartedReport(ctx, state, prepared);
  const ran = await runCommands(ctx.executor, state, logs).finally(() => logs.close());
  // Killed while the commands ran (or while their outputs went up): what they wrote is kept.
  const keep = () => keepOutputs(ctx, state, prepared.inputs);
  if (state.ending() !== undefined) return endedEarly(state, ran.computationMs, started, keep);
  const { computationMs } = ran;
  if (ran.kind === "error") {
    return { outcome: "error", ...ran.report, computationMs, ...(await started.fold()) };
  }
  const uploaded = await guard(state, () => uploadOutputs(ctx, state, prepared.inputs));
  if (state.ending() !== undefined) return endedEarly(state, computationMs, started, keep);
  if ("error" in uploaded) {
    return { outcome: "error", reason: uploaded.error, computationMs, ...(await started.fold()) };
  }
  const solverError = findRecipe(state.task.simulator)?.findError?.(logs.outputTails());
  const failedAnyway = ran.exitCode === 0 && solverError !== undefined;
  return {
    outcome: failedAnyway ? "error" : "exited",
    ...(ran.exitCode === undefined ? {} : { exitCode: ran.exitCode }),
    ...(ran.signal === undefined ? {} : { signal: ran.signal }),
    ...(ran.exitCode === 0 && !failedAnyway
      ? {}
      : { reason: failureReason(state.task.simulator, ran.exitCode, solverError, logs) }),
    ...(await started.fold()),
    computationMs,
    outputUploadMs: uploaded.outputUploadMs,
    manifest: manifestOf(uploaded.manifest),
  };
}

/** The solver's own error when its recipe finds one, else the tail of stderr (or stdout). */
function failureReason(
  simulator: string,
  exitCode: number | undefined,
  solverError: string | undefined,
  logs: TaskLogs,
): string {
  if (solverError !== undefined && exitCode === 0) {
    return `${simulator} reported an error although it exited 0:\n${solverError}`;
  }
  if (solverError !== undefined) return solverError;
  const stderr = logs.stderrTail();
  if (stderr.trim() !== "") return stderr;
  return logs.outputTails().stdout.split("\n").slice(-20).join("\n");
}

interface StartedReport {
  /**
   * At the end: `{ started }` to send with finish when the report was never sent on its own (the
   * task ended within STARTED_REPORT_DELAY_MS, or sending failed), else nothing. Waits for a
   * report in flight, so the server always hears started before finish.
   */
  fold(): Promise<{ started?: FoldedStarted }>;
}

/**
 * Reports started STARTED_REPORT_DELAY_MS after the commands start, unless the task ends first.
 * A kill requested before the report reaches the server comes through the control channel (or
 * the report's own LEASE_LOST answer, which drops the task and kills its commands).
 */
function scheduleStartedReport(
  ctx: TaskContext,
  state: TaskState,
  prepared: PreparedInput,
): StartedReport {
  const startedAt = performance.now();
  const fields = {
    inputDownloadMs: prepared.inputDownloadMs,
    inputBytes: prepared.inputBytes,
    inputFiles: prepared.inputFiles,
  };
  let sending: Promise<boolean> | undefined;
  const send = async (): Promise<boolean> => {
    try {
      await guard(state, () =>
        retry(() => ctx.api.started(state.task.id, { machineId: ctx.machineId, ...fields }), {
          attempts: SERVER_OUTAGE_ATTEMPTS,
          signal: state.signal,
        }),
      );
      return true;
    } catch (error) {
      // A kill or a lost lease ends the task anyway; anything else: finish carries the report.
      if (state.ending() === undefined) {
        ctx.log(`task ${state.task.id}: could not report started: ${describe(error)}`);
      }
      return false;
    }
  };
  const timer = setTimeout(() => {
    sending = send();
  }, ctx.startedReportDelayMs ?? STARTED_REPORT_DELAY_MS);
  return {
    async fold() {
      clearTimeout(timer);
      if (sending !== undefined && (await sending)) return {};
      return { started: { ...fields, startedMsAgo: performance.now() - startedAt } };
    },
  };
}

/**
 * Killed (report once the group is gone) or lease lost (report nothing). `started`: the commands
 * had started (the report goes with finish if it was not sent). `keep`: uploads the outputs of
 * a user's kill once the group is gone; an upload that fails costs the outputs, not the kill.
 */
async function endedEarly(
  state: TaskState,
  computationMs?: number,
  started?: StartedReport,
  keep?: () => Promise<UploadedOutputs | { error: string }>,
): Promise<Report | undefined> {
  const folded = started === undefined ? {} : await started.fold();
  const ending = state.ending();
  if (ending?.kind !== "kill") return undefined;
  await state.groupGone();
  const kept = keep === undefined || !ending.keepOutputs ? undefined : await guard(state, keep);
  if (state.ending()?.kind !== "kill") return undefined; // the lease went during the upload
  return {
    outcome: "killed",
    reason: ending.reason,
    ...(computationMs === undefined ? {} : { computationMs }),
    ...folded,
    ...(kept === undefined || "error" in kept
      ? {}
      : { outputUploadMs: kept.outputUploadMs, manifest: manifestOf(kept.manifest) }),
  };
}

function manifestOf(files: readonly HashedFile[]): NonNullable<Report["manifest"]> {
  return files.map(({ path, size, sha256, mtimeMs }) => ({ path, size, sha256, mtimeMs }));
}

/** Runs a step; a LEASE_LOST answer drops the task (and kills what runs). */
async function guard<T>(state: TaskState, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof FlotillaError && error.code === "LEASE_LOST") {
      state.loseLease();
      throw new LeaseLost();
    }
    throw error;
  }
}

interface PreparedInput {
  readonly inputs: InputSnapshot;
  readonly inputDownloadMs: number;
  readonly inputBytes: number;
  readonly inputFiles: number;
}

/** Download + unpack + the input snapshot (all counted as inputDownloadMs). */
async function downloadInput(
  ctx: TaskContext,
  state: TaskState,
  inlineInput: Buffer | undefined,
): Promise<PreparedInput | { error: string }> {
  const startedAt = performance.now();
  const { workingDir } = state.dirs;
  let retrying = false;
  // What the unpacked input looks like, from the unpack's own hashes (no second read).
  let inputs = new Map<string, { size: number; sha256: string }>();
  try {
    const unpacked = await retry(
      async () => {
        // A retry starts from an empty directory: a half-unpacked archive must not mix in (the
        // first try has the fresh one runTask made).
        if (retrying) {
          await rm(workingDir, { recursive: true, force: true });
          await mkdir(workingDir, { recursive: true });
        }
        // The archive that came with the claim is used once; a retry downloads it.
        const input =
          !retrying && inlineInput !== undefined
            ? Readable.from([inlineInput])
            : await ctx.api.openInput(ctx.machineId, state.task.id, state.signal);
        retrying = true;
        const hashed = new Map<string, { size: number; sha256: string }>();
        inputs = hashed;
        // unpackArchive leaves a rejected source paused: destroy it to free the connection.
        return unpackArchive(input, workingDir, DEFAULT_ARCHIVE_LIMITS, {
          onFileHashed: (path, sha256, size) => hashed.set(path, { size, sha256 }),
        }).finally(() => input.destroy());
      },
      {
        attempts: SERVER_OUTAGE_ATTEMPTS,
        signal: state.signal,
        isRetryable: (error) => !(error instanceof ArchiveRejectedError) && isTransientError(error),
        onRetry: (error) =>
          ctx.log(`task ${state.task.id}: input download failed, retrying: ${describe(error)}`),
      },
    );
    const inputDownloadMs = performance.now() - startedAt;
    return { inputs, inputDownloadMs, inputBytes: unpacked.bytes, inputFiles: unpacked.files };
  } catch (error) {
    if (error instanceof FlotillaError && error.code === "LEASE_LOST") throw error;
    if (error instanceof ArchiveRejectedError)
      return { error: `input archive rejected: ${error.message}` };
    return { error: `could not download the input: ${describe(error)}` };
  }
}

interface UploadedOutputs {
  readonly manifest: readonly HashedFile[];
  readonly outputUploadMs: number;
}

/**
 * Collect + upload (outputUploadMs), retried with backoff; an error string once it gives up.
 * `signal` ends it early: the task's (any ending), or after a kill the lease's.
 */
async function uploadOutputs(
  ctx: TaskContext,
  state: TaskState,
  inputs: InputSnapshot,
  signal: AbortSignal = state.signal,
): Promise<UploadedOutputs | { error: string }> {
  const startedAt = performance.now();
  const { workingDir } = state.dirs;
  try {
    const manifest = await collectOutputs(workingDir, inputs);
    const files = manifest.map((file) => file.path);
    // No outputs: the empty manifest in finish is enough (the server records it).
    if (files.length === 0) return { manifest, outputUploadMs: performance.now() - startedAt };
    await retry(
      () =>
        ctx.api.uploadOutputs(
          ctx.machineId,
          state.task.id,
          packDirectory(workingDir, { files }),
          signal,
        ),
      {
        attempts: SERVER_OUTAGE_ATTEMPTS,
        signal,
        isRetryable: (error) => !(error instanceof FlotillaError && error.code === "LEASE_LOST"),
        onRetry: (error) =>
          ctx.log(`task ${state.task.id}: output upload failed, retrying: ${describe(error)}`),
      },
    );
    return { manifest, outputUploadMs: performance.now() - startedAt };
  } catch (error) {
    if (error instanceof FlotillaError && error.code === "LEASE_LOST") throw error;
    return { error: `could not upload the outputs: ${describe(error)}` };
  }
}

/** The outputs of a killed task, uploaded unless the lease goes; a failure is logged. */
async function keepOutputs(
  ctx: TaskContext,
  state: TaskState,
  inputs: InputSnapshot,
): Promise<UploadedOutputs | { error: string }> {
  const kept = await uploadOutputs(ctx, state, inputs, state.leaseSignal);
  if ("error" in kept)
    ctx.log(`task ${state.task.id}: killed; its outputs are lost: ${kept.error}`);
  return kept;
}

/** Reports the end; resolves with the next task when the answer brought one. */
async function sendFinish(
  ctx: TaskContext,
  state: TaskState,
  report: Report,
): Promise<ClaimedTask | undefined> {
  const request: FinishRequest = { machineId: ctx.machineId, ...report };
  if (request.reason !== undefined && request.reason.length > 8000) {
    request.reason = request.reason.slice(-8000);
  }
  try {
    // Not tied to state.signal: a kill must still be reported once the group is gone.
    const next = await guard(state, () =>
      retry(
        () => ctx.api.finish(state.task.id, { ...request, claimNext: ctx.claimNext?.() === true }),
        { attempts: SERVER_OUTAGE_ATTEMPTS },
      ),
    );
    ctx.log(
      `task ${state.task.id}: finished (${report.outcome}${report.exitCode === undefined ? "" : `, exit code ${report.exitCode}`})`,
    );
    return next;
  } catch (error) {
    if (error instanceof LeaseLost) throw error;
    // The server will requeue it when the lease expires: nothing else to do on this side.
    ctx.log(`task ${state.task.id}: could not report its end: ${describe(error)}`);
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
