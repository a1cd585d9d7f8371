// What both store adapters check before a transition, on the row they locked: the request's
// expectations (lease holder, current status), then the transition table.
import { FlotillaError, LeaseLostError } from "../domain/errors.js";
import { assertTransition, isTerminalStatus } from "../domain/task-status.js";
import type { TaskRow } from "./row-mapping.js";
import type { TransitionRequest } from "./task-store.js";

/** The columns the check reads, whatever else the dialect's row holds. */
type CheckedRow = Pick<TaskRow, "id" | "machine_id" | "status">;

export function checkExpectations(row: CheckedRow, request: TransitionRequest): void {
  const { expect } = request;
  if (expect?.machineId !== undefined && row.machine_id !== expect.machineId) {
    throw new LeaseLostError(row.id, expect.machineId);
  }
  if (expect?.fromStatuses !== undefined && !expect.fromStatuses.includes(row.status)) {
    if (isTerminalStatus(row.status)) {
      throw new FlotillaError(
        "TASK_ALREADY_FINISHED",
        `task ${row.id} is already ${row.status}; it cannot become ${request.to}`,
        { details: { taskId: row.id, status: row.status } },
      );
    }
    throw new FlotillaError(
      "INVALID_TRANSITION",
      `task ${row.id} is ${row.status}, not ${expect.fromStatuses.join(" or ")}; it was changed meanwhile, read it again`,
      { details: { taskId: row.id, from: row.status, to: request.to } },
    );
  }
  assertTransition(row.id, row.status, request.to);
}
