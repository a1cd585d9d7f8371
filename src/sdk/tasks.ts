/**
 * Listing tasks (seed "Task Management": `tasks.get`, `tasks.getAll`, `tasks.getTasks`). Every
 * list is newest first and yields {@link Task} handles pre-filled from the list answer.
 */
import { InvalidInputError } from "../domain/errors.js";
import { TASK_STATUSES, isTaskStatus, type TaskStatus } from "../domain/task-status.js";
import { getDefaultClient, type Flotilla } from "./client.js";
import { Task } from "./task.js";

/** The server's largest page. */
const MAX_PAGE = 1000;
/** Page size of {@link getAllTasks}. */
const ALL_PAGE = 500;

/** Filters shared by the listing functions. */
export interface TaskFilter {
  /** One status or several (any of them matches). */
  readonly status?: TaskStatus | readonly TaskStatus[] | undefined;
  readonly project?: string | undefined;
  readonly machineGroup?: string | undefined;
  /** The client to use; the default client otherwise. */
  readonly client?: Flotilla | undefined;
}

/** Options of {@link getTasksPage} (`tasks.get`). */
export interface GetTasksOptions extends TaskFilter {
  /** How many of the newest tasks (default 5, at least 1). */
  readonly lastN?: number | undefined;
}

/** Options of {@link getTasksFlexible} (`tasks.getTasks`). */
export interface GetTasksFlexibleOptions extends TaskFilter {
  /** How many of the newest tasks (default 10); 0 or less means all of them. */
  readonly lastN?: number | undefined;
}

/**
 * The `lastN` newest tasks matching the filters (default 5).
 *
 * @example
 * ```ts
 * const recent = await tasks.get({ lastN: 10, status: "success", project: "fluid-dynamics" });
 * ```
 */
export async function getTasksPage(options: GetTasksOptions = {}): Promise<Task[]> {
  const lastN = options.lastN ?? 5;
  if (!Number.isInteger(lastN) || lastN < 1) {
    throw new InvalidInputError(`lastN must be >= 1 (an integer), got ${String(lastN)}`);
  }
  const found: Task[] = [];
  for await (const task of iterateTasks(options, Math.min(lastN, MAX_PAGE))) {
    found.push(task);
    if (found.length >= lastN) break;
  }
  return found;
}

/**
 * Every task matching the filters, fetched lazily in pages of 500 as you iterate.
 *
 * @example
 * ```ts
 * for await (const task of tasks.getAll({ project: "fluid-dynamics" })) console.log(task.id, task.status);
 * ```
 */
export function getAllTasks(options: TaskFilter = {}): AsyncIterable<Task> {
  checkStatuses(options.status);
  return iterateTasks(options, ALL_PAGE);
}

/**
 * The `lastN` newest tasks (default 10), or all of them as an array when `lastN <= 0`.
 *
 * @example
 * ```ts
 * const started = await tasks.getTasks({ lastN: 5, status: "started" });
 * const everything = await tasks.getTasks({ lastN: 0 });
 * ```
 */
export async function getTasksFlexible(options: GetTasksFlexibleOptions = {}): Promise<Task[]> {
  const lastN = options.lastN ?? 10;
  if (lastN > 0) return getTasksPage({ ...options, lastN });
  const all: Task[] = [];
  for await (const task of getAllTasks(options)) all.push(task);
  return all;
}

/**
 * A handle on one task, with its current record.
 *
 * @example
 * ```ts
 * const task = await tasks.getTask("0lx3k9v2a7b4c1d");
 * console.log(task.status);
 * ```
 */
export async function getTaskById(
  id: string,
  options: { client?: Flotilla | undefined } = {},
): Promise<Task> {
  const client = options.client ?? (await getDefaultClient());
  return new Task(await client.getTask(id), client);
}

/**
 * Task listing, shaped like the seed's `tasks` module.
 *
 * @example
 * ```ts
 * import { tasks } from "flotilla";
 *
 * for (const task of await tasks.get({ lastN: 3 })) console.log(task.id, task.status);
 * ```
 */
export const tasks = {
  get: getTasksPage,
  getAll: getAllTasks,
  getTasks: getTasksFlexible,
  getTask: getTaskById,
} as const;

async function* iterateTasks(filter: TaskFilter, pageSize: number): AsyncGenerator<Task> {
  const status = checkStatuses(filter.status);
  const client = filter.client ?? (await getDefaultClient());
  let cursor: string | undefined;
  do {
    const page = await client.listTasks({
      status,
      project: filter.project,
      machineGroup: filter.machineGroup,
      limit: pageSize,
      cursor,
    });
    for (const view of page.tasks) yield new Task(view, client);
    cursor = page.tasks.length === 0 ? undefined : page.nextCursor;
  } while (cursor !== undefined);
}

// Plain JavaScript callers can pass anything; name the bad value before asking the server.
function checkStatuses(status: TaskFilter["status"]): TaskStatus[] | undefined {
  if (status === undefined) return undefined;
  const list = ([] as unknown[]).concat(status);
  const unknown = list.find((value) => !isTaskStatus(value));
  if (unknown !== undefined) {
    const hint = unknown === "completed" ? ' (a task that ended well is "success")' : "";
    throw new InvalidInputError(
      `unknown task status ${JSON.stringify(unknown)}${hint}; use one of: ${TASK_STATUSES.join(", ")}`,
    );
  }
  return list as TaskStatus[];
}
