/**
 * Task bodies of the HTTP protocol: create, record, list, position, kill, outputs.
 */
import { z } from "zod";
import { TASK_STATUSES } from "../domain/task-status.js";
import { CommandSchema, EnvSchema, Name, TaskId } from "./common.js";

/**
 * Inputs up to this size (the archive: a tar, or a tar.gz) may come inline with `POST /tasks`,
 * base64 in `input`.
 */
export const INLINE_SUBMIT_INPUT_MAX_BYTES = 64 * 1024;

/** Body of `POST /api/v1/tasks`. */
export const CreateTaskRequest = z.strictObject({
  simulator: Name,
  simulatorVersion: z.string().max(100).optional(),
  commands: z.array(CommandSchema).min(1, "give at least one command").max(100),
  machineGroup: Name.optional(),
  project: Name.optional(),
  env: EnvSchema.optional(),
  killGraceMs: z.number().int().min(0).max(3_600_000).optional(),
  /**
   * A small input archive (tar or tar.gz, base64): the task is created and queued in one request, as
   * if `PUT /tasks/:id/input` had followed. Larger inputs use that PUT (streamed).
   */
  input: z
    .string()
    .max(Math.ceil(INLINE_SUBMIT_INPUT_MAX_BYTES / 3) * 4, "send a larger input with PUT /input")
    .optional(),
});
/** Body of `POST /api/v1/tasks`. */
export type CreateTaskRequest = z.infer<typeof CreateTaskRequest>;

/** A task status, as a literal union. */
export const TaskStatusSchema = z.enum(TASK_STATUSES);

/** One status change in a task's history. */
export const StatusHistoryEntryView = z.object({
  status: TaskStatusSchema,
  at: z.string(),
  reason: z.string(),
  detail: z.string().optional(),
  machineId: z.string().optional(),
});
/** One status change in a task's history. */
export type StatusHistoryEntryView = z.infer<typeof StatusHistoryEntryView>;

/** Sizes and durations of each phase (milliseconds, bytes); absent until known. */
export const TaskMetricsView = z.object({
  inputBytes: z.number().optional(),
  inputFiles: z.number().optional(),
  outputBytes: z.number().optional(),
  outputFiles: z.number().optional(),
  inputUploadMs: z.number().optional(),
  queueMs: z.number().optional(),
  inputDownloadMs: z.number().optional(),
  computationMs: z.number().optional(),
  outputUploadMs: z.number().optional(),
  totalMs: z.number().optional(),
});
/** Sizes and durations of each phase. */
export type TaskMetricsView = z.infer<typeof TaskMetricsView>;

/** The task record: body of `GET /api/v1/tasks/:id` and element of lists. */
export const TaskView = z.object({
  id: z.string(),
  owner: z.string(),
  project: z.string(),
  simulator: z.string(),
  simulatorVersion: z.string().optional(),
  commands: z.array(z.array(z.string())),
  machineGroup: z.string(),
  status: TaskStatusSchema,
  isTerminal: z.boolean(),
  statusHistory: z.array(StatusHistoryEntryView),
  createdAt: z.string(),
  inputUploadedAt: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  machine: z.object({ id: z.string(), host: z.string() }).optional(),
  attempt: z.number(),
  exitCode: z.number().optional(),
  signal: z.string().optional(),
  reason: z.string().optional(),
  killRequestedAt: z.string().optional(),
  queuePosition: z.number().optional(),
  metrics: TaskMetricsView,
  env: z.record(z.string(), z.string()),
  killGraceMs: z.number(),
});
/** The task record. */
export type TaskView = z.infer<typeof TaskView>;

/** Query of `GET /api/v1/tasks`: `status` may repeat or be comma-separated. */
export const ListTasksQuery = z.strictObject({
  status: z.array(TaskStatusSchema).optional(),
  project: Name.optional(),
  machineGroup: Name.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(200).optional(),
});
/** Query of `GET /api/v1/tasks`. */
export type ListTasksQuery = z.infer<typeof ListTasksQuery>;

/** Body of `GET /api/v1/tasks`: newest first; `nextCursor` absent on the last page. */
export const TaskListView = z.object({
  tasks: z.array(TaskView),
  nextCursor: z.string().optional(),
});
/** Body of `GET /api/v1/tasks`. */
export type TaskListView = z.infer<typeof TaskListView>;

/**
 * Query of `GET /api/v1/tasks/:id/wait`: answers when the task is terminal, when its status is no
 * longer `status` (if given: follow every change), or after `timeoutMs`.
 */
export const WaitQuery = z.strictObject({
  timeoutMs: z.coerce.number().int().min(0).max(300_000).default(60_000),
  status: TaskStatusSchema.optional(),
});

/** Body of `GET /api/v1/tasks/:id/position`: `queuePosition` is null unless in-queue. */
export const PositionView = z.object({
  taskId: z.string(),
  status: TaskStatusSchema,
  queuePosition: z.number().nullable(),
});
/** Body of `GET /api/v1/tasks/:id/position`. */
export type PositionView = z.infer<typeof PositionView>;

/**
 * Body of `POST /api/v1/tasks/:id/kill`: `killed` when the task is now killed,
 * `kill-requested` when its machine has been told and will confirm.
 */
export const KillView = z.object({
  result: z.enum(["killed", "kill-requested"]),
  task: TaskView,
});
/** Body of `POST /api/v1/tasks/:id/kill`. */
export type KillView = z.infer<typeof KillView>;

/** One output file. */
export const OutputFileView = z.object({
  path: z.string(),
  size: z.number(),
  sha256: z.string(),
  mtimeMs: z.number().optional(),
});
/** One output file. */
export type OutputFileView = z.infer<typeof OutputFileView>;

/** Body of `GET /api/v1/tasks/:id/outputs`. */
export const OutputManifestView = z.object({
  taskId: z.string(),
  files: z.array(OutputFileView),
  totalBytes: z.number(),
});
/** Body of `GET /api/v1/tasks/:id/outputs`. */
export type OutputManifestView = z.infer<typeof OutputManifestView>;

/** Query of `GET /api/v1/tasks/:id/logs`. */
export const LogsQuery = z.strictObject({
  stream: z.enum(["stdout", "stderr"]).default("stdout"),
  follow: z.enum(["0", "1", "true", "false"]).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

/** The path params of every `/api/v1/tasks/:id/...` route. */
export const TaskIdParam = z.object({ id: TaskId });

/** Projects: body of `GET /api/v1/projects`. */
export const ProjectListView = z.object({
  projects: z.array(z.object({ name: z.string(), taskCount: z.number() })),
});
/** Body of `GET /api/v1/projects`. */
export type ProjectListView = z.infer<typeof ProjectListView>;

/** Simulators: body of `GET /api/v1/simulators`: which group's machines can run what. */
export const SimulatorListView = z.object({
  simulators: z.array(
    z.object({ name: z.string(), machineGroups: z.record(z.string(), z.array(z.string())) }),
  ),
});
/** Body of `GET /api/v1/simulators`. */
export type SimulatorListView = z.infer<typeof SimulatorListView>;
