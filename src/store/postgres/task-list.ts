// listTasks: newest first by id, keyset paginated. Each branch walks an index in id order and
// stops after one page, so a page costs the same at a million tasks as at ten. Several statuses
// become one branch per status, merged: `status = ANY(...) ORDER BY id` cannot walk one index in
// id order, so PostgreSQL would fetch and sort every matching row before the first page.
import { InvalidInputError } from "../../domain/errors.js";
import type { Task } from "../../domain/task.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type { TaskListQuery, TaskPage } from "../task-store.js";
import type { Queryable } from "./connection.js";
import { readTasks } from "./task-hydrator.js";

const MAX_LIMIT = 1000;

export interface ListStatement {
  readonly text: string;
  readonly values: unknown[];
}

/** The statement selecting the rows of one page (plus one, to know whether more follow). */
export function listStatement(
  query: Omit<TaskListQuery, "limit" | "cursor">,
  before: string | undefined,
  fetch: number,
): ListStatement {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const common = [
    query.owner === undefined ? undefined : `owner = ${param(query.owner)}`,
    query.project === undefined ? undefined : `project = ${param(query.project)}`,
    query.machineGroup === undefined ? undefined : `machine_group = ${param(query.machineGroup)}`,
    before === undefined ? undefined : `id < ${param(before)}`,
  ].filter((clause) => clause !== undefined);
  const limit = param(fetch);
  const branch = (status: string | undefined): string => {
    const where = status === undefined ? common : [...common, `status = ${param(status)}`];
    const filter = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`;
    return `SELECT * FROM tasks ${filter} ORDER BY id DESC LIMIT ${limit}`;
  };
  const statuses = [...new Set(query.statuses ?? [])];
  if (statuses.length <= 1) return { text: branch(statuses[0]), values };
  const branches = statuses.map((status) => `(${branch(status)})`).join(" UNION ALL ");
  return { text: `SELECT * FROM (${branches}) branches ORDER BY id DESC LIMIT ${limit}`, values };
}

export async function listTasks(db: Queryable, query: TaskListQuery): Promise<TaskPage> {
  checkLimit(query.limit);
  const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const statement = listStatement(query, before, query.limit + 1);
  const fetched: Task[] = await readTasks(db, statement.text, statement.values, "page.id DESC");
  const tasks = fetched.slice(0, query.limit);
  const last = tasks.at(-1);
  return fetched.length > query.limit && last !== undefined
    ? { tasks, nextCursor: encodeCursor(last.id) }
    : { tasks };
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidInputError(
      `limit must be a whole number from 1 to ${MAX_LIMIT}, not ${limit}`,
    );
  }
}
