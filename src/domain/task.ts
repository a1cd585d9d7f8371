// The task record: what getInfo() and `tasks info` show. Times are epoch milliseconds in the
// domain and store; the protocol layer renders them as ISO-8601 strings.
import type { TaskStatus } from "./task-status.js";

export const DEFAULT_PROJECT = "default";
export const DEFAULT_MACHINE_GROUP = "default";

/** One command: an argv array, run without a shell. */
export type Command = readonly string[];

export interface StatusHistoryEntry {
  readonly status: TaskStatus;
  readonly at: number;
  /** Why the change happened ("input uploaded", "claimed by machine m1", "exit code 2", ...). */
  readonly reason: string;
  /** Finer step within the status: "kill-requested", "machine-lost", "computation-ended", ... */
  readonly detail?: string | undefined;
  readonly machineId?: string | undefined;
}

/** Durations of each phase in milliseconds; absent until the phase has ended. */
export interface PhaseDurations {
  inputUploadMs?: number | undefined;
  queueMs?: number | undefined;
  inputDownloadMs?: number | undefined;
  computationMs?: number | undefined;
  outputUploadMs?: number | undefined;
  totalMs?: number | undefined;
}

export interface TaskMetrics extends PhaseDurations {
  inputBytes?: number | undefined;
  inputFiles?: number | undefined;
  outputBytes?: number | undefined;
  outputFiles?: number | undefined;
}

export interface TaskMachine {
  readonly id: string;
  readonly host: string;
}

export interface Task {
  readonly id: string;
  readonly owner: string;
  readonly project: string;
  readonly simulator: string;
  readonly simulatorVersion?: string | undefined;
  readonly commands: readonly Command[];
  readonly machineGroup: string;
  readonly status: TaskStatus;
  readonly statusHistory: readonly StatusHistoryEntry[];
  readonly createdAt: number;
  readonly inputUploadedAt?: number | undefined;
  readonly startedAt?: number | undefined;
  readonly endedAt?: number | undefined;
  readonly machine?: TaskMachine | undefined;
  readonly attempt: number;
  readonly exitCode?: number | undefined;
  readonly signal?: string | undefined;
  readonly reason?: string | undefined;
  readonly killRequestedAt?: number | undefined;
  readonly leaseExpiresAt?: number | undefined;
  readonly metrics: TaskMetrics;
  /** Only while in-queue: tasks of the same machine group ahead of this one. */
  readonly queuePosition?: number | undefined;
  /** Extra environment for the commands. */
  readonly env: Readonly<Record<string, string>>;
  /** Kill grace period between SIGTERM and SIGKILL. */
  readonly killGraceMs: number;
}

/** One file of a task's outputs, as listed in its manifest. */
export interface OutputFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly mtimeMs?: number | undefined;
}

export interface OutputManifest {
  readonly files: readonly OutputFile[];
  readonly totalBytes: number;
}
