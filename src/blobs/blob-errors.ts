// The errors the blob store throws, worded for the user who has to act on them.
import { FlotillaError, InvalidInputError, NotFoundError } from "../domain/errors.js";
import type { ArchiveRejectedError } from "../lib/archive.js";

export function inputRejected(taskId: string, error: ArchiveRejectedError): FlotillaError {
  const fix =
    error.reason === "too-large" || error.reason === "too-many-files"
      ? "make the input directory smaller (the server's limits are maxInputBytes and maxInputFiles)"
      : "fix the input directory and submit the task again";
  return new FlotillaError(
    "INPUT_REJECTED",
    `input of task ${taskId} rejected: ${error.message}; ${fix}`,
    {
      cause: error,
      details: { taskId, reason: error.reason, entry: error.entry },
    },
  );
}

export function inputAlreadyUploaded(taskId: string): FlotillaError {
  return new FlotillaError(
    "INPUT_ALREADY_UPLOADED",
    `task ${taskId} already has its input; submit a new task to run on a different input`,
    { details: { taskId } },
  );
}

export function outputsRejected(taskId: string, error: ArchiveRejectedError): InvalidInputError {
  return new InvalidInputError(`outputs of task ${taskId} rejected: ${error.message}`, {
    taskId,
    reason: error.reason,
    entry: error.entry,
  });
}

export function outputFileNotFound(taskId: string, path: string): NotFoundError {
  return new NotFoundError(
    "FILE_NOT_FOUND",
    `task ${taskId} has no output file "${path}"; list its files with \`flotilla tasks list-files ${taskId}\``,
  );
}
