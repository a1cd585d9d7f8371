// The seven statuses users match on, and the one table of allowed transitions.
// Every status change in the system is checked against TRANSITIONS; anything else is a bug.
import { InvalidTransitionError } from "./errors.js";

export const TASK_STATUS = {
  pendingInput: "pending-input",
  inQueue: "in-queue",
  submitted: "submitted",
  started: "started",
  success: "success",
  failed: "failed",
  killed: "killed",
} as const;

export type TaskStatus = (typeof TASK_STATUS)[keyof typeof TASK_STATUS];

export const TASK_STATUSES = [
  TASK_STATUS.pendingInput,
  TASK_STATUS.inQueue,
  TASK_STATUS.submitted,
  TASK_STATUS.started,
  TASK_STATUS.success,
  TASK_STATUS.failed,
  TASK_STATUS.killed,
] as const satisfies readonly TaskStatus[];

export const TERMINAL_STATUSES: readonly TaskStatus[] = ["success", "failed", "killed"];

/** The non-terminal statuses, in the order a task goes through them. */
export const ACTIVE_STATUSES = [
  TASK_STATUS.pendingInput,
  TASK_STATUS.inQueue,
  TASK_STATUS.submitted,
  TASK_STATUS.started,
] as const satisfies readonly TaskStatus[];

export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];

/** Allowed next statuses for each status (DESIGN.md, "Task status"). */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  "pending-input": ["in-queue", "killed", "failed"],
  "in-queue": ["submitted", "killed", "failed"],
  submitted: ["started", "in-queue", "failed", "killed"],
  started: ["success", "failed", "killed", "in-queue"],
  success: [],
  failed: [],
  killed: [],
};

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === "string" && (TASK_STATUSES as readonly string[]).includes(value);
}

export function isTerminalStatus(status: TaskStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** Queued or running: the states in which a task still holds (or waits for) a machine. */
export function isActiveStatus(status: TaskStatus): boolean {
  return !isTerminalStatus(status);
}

/** Statuses in which the task holds a machine (claimed or running). */
export function isOnMachineStatus(status: TaskStatus): boolean {
  switch (status) {
    case "submitted":
    case "started":
      return true;
    case "pending-input":
    case "in-queue":
    case "success":
    case "failed":
    case "killed":
      return false;
  }
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(taskId, from, to);
}
