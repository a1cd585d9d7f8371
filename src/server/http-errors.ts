// The one table from error code to HTTP status. Unknown errors become INTERNAL with a generic
// message; the full error goes to the server log.
import type { ErrorCode } from "../domain/errors.js";
import { FlotillaError } from "../domain/errors.js";
import type { ErrorEnvelope } from "../protocol/common.js";

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TASK_NOT_FOUND: 404,
  MACHINE_GROUP_NOT_FOUND: 404,
  MACHINE_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  SIMULATOR_NOT_FOUND: 404,
  NOT_FOUND: 404,
  TASK_ALREADY_FINISHED: 409,
  TASK_NOT_RUNNING: 409,
  INVALID_TRANSITION: 409,
  INPUT_ALREADY_UPLOADED: 409,
  OUTPUTS_NOT_AVAILABLE: 409,
  MACHINE_GROUP_EXISTS: 409,
  MACHINE_GROUP_TERMINATED: 409,
  SIMULATOR_UNAVAILABLE: 409,
  LEASE_LOST: 409,
  INPUT_REJECTED: 422,
  PAYLOAD_TOO_LARGE: 413,
  MACHINE_UNREACHABLE: 504,
  UNAVAILABLE: 503,
  STORAGE_FULL: 507,
  INTERNAL: 500,
};

export function toErrorResponse(
  error: unknown,
  log: (message: string, fields?: Record<string, unknown>) => void,
): { status: number; body: ErrorEnvelope } {
  if (error instanceof FlotillaError) {
    const body: ErrorEnvelope = { error: { code: error.code, message: error.message } };
    if (error.details !== undefined) body.error.details = { ...error.details };
    if (error.code === "INTERNAL") log("internal error", { error: describe(error) });
    return { status: HTTP_STATUS[error.code], body };
  }
  if (isStorageFull(error)) {
    log("storage full", { error: describe(error) });
    return {
      status: HTTP_STATUS.STORAGE_FULL,
      body: {
        error: {
          code: "STORAGE_FULL",
          message:
            "the server's disk is full (its data dir has no space left); nothing was stored, free some space on the server and retry",
        },
      },
    };
  }
  log("unexpected error", { error: describe(error) });
  return {
    status: 500,
    body: {
      error: { code: "INTERNAL", message: "internal server error; the server log has the details" },
    },
  };
}

/** ENOSPC/EDQUOT from the file system, SQLITE_FULL from the store, anywhere in the cause chain. */
function isStorageFull(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return true;
    current = current.cause;
  }
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
