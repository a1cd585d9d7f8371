/**
 * The runner protocol (`/api/v1/runner/...`). Runners pull: they never listen on a port.
 *
 * 1. `POST /runner/register` once; the answer gives the machine id and timings.
 * 2. `POST /runner/claim` long-polls for the next task of the group (200 with a task, 204 none).
 * 3. `GET /runner/tasks/:id/input` streams the input archive (tar.gz); a small one comes with the
 *    claim answer instead (`input`, base64), saving this request.
 * 4. `POST /runner/tasks/:id/started` shortly after the commands start (`STARTED_REPORT_DELAY_MS`):
 *    a task that ends sooner folds this report into finish (`started`), one request less.
 * 5. `POST /runner/tasks/:id/logs?stream=stdout|stderr` with raw bytes, while running.
 * 6. `POST /runner/heartbeat` every `heartbeatMs`: renews the lease of the current task.
 * 7. `PUT /runner/tasks/:id/outputs` streams the outputs as a tar archive (skipped when there
 *    are none: finish with an empty manifest makes the server record empty outputs).
 * 8. `POST /runner/tasks/:id/finish` with the exit code, metrics and the sha256 manifest; with
 *    `claimNext` its answer also carries the group's next task when one is waiting (a claim
 *    without waiting), so a busy machine makes one request per task.
 * Meanwhile `GET /runner/control` long-polls for control messages (kill, introspection), and
 * `POST /runner/control/:requestId/reply` answers them.
 * Every call but register carries `machineId`; a call about a task no longer leased to the
 * machine answers 409 `LEASE_LOST`, and the runner drops that task.
 */
import { z } from "zod";
import { Name } from "./common.js";
import { OutputFileView, TaskView } from "./tasks.js";

/** Body of `POST /api/v1/runner/register`. */
export const RegisterRequest = z.strictObject({
  machineGroup: Name,
  host: z.string().min(1).max(255),
  pid: z.number().int().optional(),
  /** Set by providers that pre-assign ids (the local provider passes `--machine-id`). */
  machineId: z.string().max(64).optional(),
  /** Provider handle: the Slurm job id of a pilot. */
  providerRef: z.string().max(100).optional(),
  simulators: z.record(z.string(), z.string()).default({}),
  cpus: z.number().int().optional(),
  memoryBytes: z.number().optional(),
});
/** Body of `POST /api/v1/runner/register`. */
export type RegisterRequest = z.input<typeof RegisterRequest>;

/** Answer to register. */
export const RegisterResponse = z.object({
  machineId: z.string(),
  leaseMs: z.number(),
  heartbeatMs: z.number(),
});
/** Answer to register. */
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/** Body of `POST /api/v1/runner/claim`: 200 `{ task }` or 204 when nothing came in `waitMs`. */
export const ClaimRequest = z.strictObject({
  machineId: z.string().min(1).max(64),
  waitMs: z.number().int().min(0).max(120_000).default(30_000),
});
/** Body of `POST /api/v1/runner/claim`. */
export type ClaimRequest = z.input<typeof ClaimRequest>;

/** Inputs up to this size (the stored tar.gz) come with the claim answer, base64 in `input`. */
export const INLINE_INPUT_MAX_BYTES = 64 * 1024;

/**
 * Answer to a successful claim. `input` is the input archive (base64) when it is small (most
 * are): the runner then skips `GET /input`. Without it (or to retry), the runner GETs it.
 */
export const ClaimResponse = z.object({
  task: TaskView,
  input: z
    .string()
    .max(Math.ceil(INLINE_INPUT_MAX_BYTES / 3) * 4)
    .optional(),
});
/** Answer to a successful claim. */
export type ClaimResponse = z.infer<typeof ClaimResponse>;

/** Query carried by every task-scoped runner call. */
export const MachineQuery = z.object({ machineId: z.string().min(1).max(64) });

/**
 * How long after its commands start a runner reports `started`. A task that ends sooner sends
 * the report inside finish instead: short tasks cost the runner and the server one request less,
 * and the status shows `started` this much later at most (its time is still when it started).
 */
export const STARTED_REPORT_DELAY_MS = 50;

const StartedFields = {
  inputDownloadMs: z.number().min(0),
  inputBytes: z.number().min(0).optional(),
  inputFiles: z.number().int().min(0).optional(),
};

/** Body of `POST /api/v1/runner/tasks/:id/started`. */
export const StartedRequest = z.strictObject({
  machineId: z.string().min(1).max(64),
  ...StartedFields,
});
/** Body of `POST /api/v1/runner/tasks/:id/started`. */
export type StartedRequest = z.infer<typeof StartedRequest>;

/** The started report folded into finish: `startedMsAgo` is how long before the finish request. */
export const FoldedStarted = z.strictObject({
  ...StartedFields,
  startedMsAgo: z
    .number()
    .min(0)
    .max(7 * 24 * 3_600_000),
});
/** The started report folded into finish. */
export type FoldedStarted = z.infer<typeof FoldedStarted>;

/** Body of `POST /api/v1/runner/heartbeat`. */
export const HeartbeatRequest = z.strictObject({
  machineId: z.string().min(1).max(64),
  taskId: z.string().max(64).optional(),
});
/** Body of `POST /api/v1/runner/heartbeat`. */
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

/** Answer to a heartbeat. `killRequested` repeats a kill the control channel may have missed. */
export const HeartbeatResponse = z.object({
  killRequested: z.boolean(),
  /** The machine should stop after its current task (group terminating). */
  stop: z.boolean(),
});
/** Answer to a heartbeat. */
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

/** Answer to `PUT /api/v1/runner/tasks/:id/outputs`: the manifest the server computed. */
export const OutputsUploadResponse = z.object({
  files: z.array(OutputFileView),
  totalBytes: z.number(),
});

/** Body of `POST /api/v1/runner/tasks/:id/finish`. */
export const FinishRequest = z.strictObject({
  machineId: z.string().min(1).max(64),
  /** exited: the commands ran to the end (or the first non-zero exit); killed: a kill request
   *  stopped them; error: the runner could not run them (bad input archive, spawn failure). */
  outcome: z.enum(["exited", "killed", "error"]),
  exitCode: z.number().int().optional(),
  signal: z.string().max(20).optional(),
  /** For `error`: what went wrong. For a non-zero exit: the tail of stderr. */
  reason: z.string().max(8192).optional(),
  computationMs: z.number().min(0).optional(),
  outputUploadMs: z.number().min(0).optional(),
  /** The runner's own sha256 manifest of what it uploaded; the server checks it matches. */
  manifest: z.array(OutputFileView).max(1_000_000).optional(),
  /** The commands started but `started` was not sent yet (the task ended sooner). */
  started: FoldedStarted.optional(),
  /** Answer with the group's next task too, when one is waiting (no long poll). */
  claimNext: z.boolean().optional(),
});
/** Body of `POST /api/v1/runner/tasks/:id/finish`. */
export type FinishRequest = z.infer<typeof FinishRequest>;

/** Answer to finish: the ended task, and the next one when `claimNext` asked and one waited. */
export const FinishResponse = z.object({ task: TaskView, next: ClaimResponse.optional() });
/** Answer to finish. */
export type FinishResponse = z.infer<typeof FinishResponse>;

/** Query of `GET /api/v1/runner/control`. */
export const ControlQuery = z.object({
  machineId: z.string().min(1).max(64),
  waitMs: z.coerce.number().int().min(0).max(120_000).default(30_000),
});

/** A control message from the server to a machine. */
export const ControlMessage = z.discriminatedUnion("type", [
  z.object({
    requestId: z.string(),
    type: z.literal("kill"),
    taskId: z.string(),
    graceMs: z.number(),
  }),
  z.object({ requestId: z.string(), type: z.literal("stop") }),
  z.object({
    requestId: z.string(),
    type: z.literal("introspect"),
    taskId: z.string(),
    /** list-files | tail | top | last-modified-file */
    command: z.enum(["list-files", "tail", "top", "last-modified-file"]),
    /**
     * Per command: `tail` takes `{ path?, lines }` for the last lines, or `{ path?, offset,
     * waitMs }` for one follow step answered as soon as the file grows (`TailIntrospectArgs` and
     * `FileChunkView` in task-files.ts); the others take none.
     */
    args: z.record(z.string(), z.unknown()).default({}),
  }),
]);
/** A control message from the server to a machine. */
export type ControlMessage = z.infer<typeof ControlMessage>;

/** Answer to `GET /api/v1/runner/control`: zero or more messages (empty after `waitMs`). */
export const ControlResponse = z.object({ messages: z.array(ControlMessage) });
/** Answer to `GET /api/v1/runner/control`. */
export type ControlResponse = z.infer<typeof ControlResponse>;

/** Body of `POST /api/v1/runner/control/:requestId/reply`. */
export const ControlReply = z.strictObject({
  machineId: z.string().min(1).max(64),
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
/** Body of `POST /api/v1/runner/control/:requestId/reply`. */
export type ControlReply = z.infer<typeof ControlReply>;
