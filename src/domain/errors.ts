// One error base with a stable code. Both store adapters and every service throw these;
// server/http-errors.ts maps codes to HTTP statuses, the SDK rebuilds them from the envelope.

export const ERROR_CODES = [
  "INVALID_INPUT",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "TASK_NOT_FOUND",
  "TASK_ALREADY_FINISHED",
  "TASK_NOT_RUNNING",
  "INVALID_TRANSITION",
  "INPUT_ALREADY_UPLOADED",
  "INPUT_REJECTED",
  "OUTPUTS_NOT_AVAILABLE",
  "FILE_NOT_FOUND",
  "MACHINE_GROUP_NOT_FOUND",
  "MACHINE_GROUP_EXISTS",
  "MACHINE_GROUP_TERMINATED",
  "MACHINE_NOT_FOUND",
  "LEASE_LOST",
  "SIMULATOR_NOT_FOUND",
  "SIMULATOR_UNAVAILABLE",
  "NOT_FOUND",
  "PAYLOAD_TOO_LARGE",
  "MACHINE_UNREACHABLE",
  "UNAVAILABLE",
  "STORAGE_FULL",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

export class FlotillaError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (task id, status, ...), sent to clients in the envelope. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FlotillaError";
    this.code = code;
    this.details = options?.details;
  }
}

export class InvalidInputError extends FlotillaError {
  constructor(message: string, details?: Record<string, unknown>) {
    super("INVALID_INPUT", message, details === undefined ? undefined : { details });
    this.name = "InvalidInputError";
  }
}

export class NotFoundError extends FlotillaError {
  constructor(
    code:
      | "TASK_NOT_FOUND"
      | "MACHINE_GROUP_NOT_FOUND"
      | "MACHINE_NOT_FOUND"
      | "FILE_NOT_FOUND"
      | "SIMULATOR_NOT_FOUND"
      | "NOT_FOUND",
    message: string,
  ) {
    super(code, message);
    this.name = "NotFoundError";
  }
}

export function taskNotFound(id: string): NotFoundError {
  return new NotFoundError(
    "TASK_NOT_FOUND",
    `task ${id} not found; check the id with \`flotilla tasks list\``,
  );
}

export function machineGroupNotFound(name: string): NotFoundError {
  return new NotFoundError(
    "MACHINE_GROUP_NOT_FOUND",
    `machine group ${name} not found; start it first (MachineGroup.start() or \`flotilla machine-groups start\`) or list groups with \`flotilla machine-groups list\``,
  );
}

export class InvalidTransitionError extends FlotillaError {
  constructor(taskId: string, from: string, to: string) {
    super("INVALID_TRANSITION", `task ${taskId} cannot go from ${from} to ${to}`, {
      details: { taskId, from, to },
    });
    this.name = "InvalidTransitionError";
  }
}

export class LeaseLostError extends FlotillaError {
  constructor(taskId: string, machineId: string) {
    super(
      "LEASE_LOST",
      `machine ${machineId} no longer holds the lease on task ${taskId}; drop the task and claim again`,
      { details: { taskId, machineId } },
    );
    this.name = "LeaseLostError";
  }
}

export function isFlotillaError(error: unknown): error is FlotillaError {
  return error instanceof FlotillaError;
}
