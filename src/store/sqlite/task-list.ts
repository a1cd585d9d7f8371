// listTasks: newest first by id, keyset paginated. Every statement walks an index in id order
// and stops after one page, so a page costs the same at a million tasks as at ten. Several
// statuses are read one status at a time and merged here: `status IN (...) ORDER BY id` would
// make SQLite sort every matching row before returning the first page.
import type Database from "better-sqlite3";
import { InvalidInputError } from "../../domain/errors.js";
import type { Task } from "../../domain/task.js";
import type { TaskStatus } from "../../domain/task-status.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type { TaskListQuery, TaskPage } from "../task-store.js";
import type { TaskRow } from "./rows.js";

const MAX_LIMIT = 1000;

/** Which filters a list statement has; one prepared statement per shape. */
export interface ListShape {
  readonly owner: boolean;
  readonly status: boolean;
  readonly project: boolean;
  readonly machineGroup: boolean;
  readonly before: boolean;
}

export function listSql(shape: ListShape): string {
  const where = [
    shape.owner ? "owner = @owner" : undefined,
    shape.status ? "status = @status" : undefined,
    shape.project ? "project = @project" : undefined,
    shape.machineGroup ? "machine_group = @machineGroup" : undefined,
    shape.before ? "id < @before" : undefined,
  ].filter((clause) => clause !== undefined);
  const filter = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
  return `SELECT * FROM tasks ${filter} ORDER BY id DESC LIMIT @fetch`;
}

export function createTaskLister(
  db: Database.Database,
  hydrateAll: (rows: readonly TaskRow[]) => Task[],
): (query: TaskListQuery) => TaskPage {
  const statements = new Map<string, Database.Statement>();
  const statementFor = (shape: ListShape): Database.Statement => {
    const key = JSON.stringify(shape);
    let statement = statements.get(key);
    if (statement === undefined) {
      statement = db.prepare(listSql(shape));
      statements.set(key, statement);
    }
    return statement;
  };

  return (query) => {
    checkLimit(query.limit);
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const statuses: readonly (TaskStatus | undefined)[] =
      query.statuses === undefined || query.statuses.length === 0
        ? [undefined]
        : [...new Set(query.statuses)];
    const fetch = query.limit + 1;
    const rows = statuses.flatMap((status) => {
      const shape: ListShape = {
        owner: query.owner !== undefined,
        status: status !== undefined,
        project: query.project !== undefined,
        machineGroup: query.machineGroup !== undefined,
        before: before !== undefined,
      };
      // Named parameters a statement does not use are ignored.
      const { owner, project, machineGroup } = query;
      const params = { owner, status, project, machineGroup, before, fetch };
      return statementFor(shape).all(params) as TaskRow[];
    });
    if (statuses.length > 1) rows.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const page = rows.slice(0, query.limit);
    const tasks = hydrateAll(page);
    const last = page.at(-1);
    return rows.length > query.limit && last !== undefined
      ? { tasks, nextCursor: encodeCursor(last.id) }
      : { tasks };
  };
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidInputError(
      `limit must be a whole number from 1 to ${MAX_LIMIT}, not ${limit}`,
    );
  }
}
