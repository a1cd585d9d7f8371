// `tail -f` on the server: the last lines of a task's file, then everything appended to it, as one
// stream that ends with the task. Stdout comes from the stored log, woken by log appends. Any other
// file comes from the machine that runs the task, by chaining `tail` follow steps through its
// control channel; the runner answers each step as soon as the file grows. Once the task has
// ended, the rest comes from the stored outputs. Nothing here polls on a timer.
import { FlotillaError, isErrorCode } from "../domain/errors.js";
import type { Task } from "../domain/task.js";
import { isTerminalStatus } from "../domain/task-status.js";
import { readTaskLog } from "./follow-log.js";
import { introspectTask } from "./introspect-task.js";
import { getVisibleTask, requireUser, type Principal } from "./principal.js";
import { waitForTask } from "./query-tasks.js";
import type { ServiceDeps } from "./service-deps.js";

export interface FollowTaskFileOptions {
  /** A file of the working directory; the task's stdout when absent. */
  readonly path?: string | undefined;
  /** How many of the last lines come first. */
  readonly lines: number;
  /** Resume a broken stream: skip the last lines and continue from this byte offset. */
  readonly offset?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The opened stream: `head` (the last lines) and then `rest` (appended bytes). */
export interface TaskFileFollow {
  /** Byte offset in the file where `rest` starts. */
  readonly offset: number;
  readonly head: string;
  readonly rest: AsyncIterable<Uint8Array>;
}

/** How long one follow step may wait on the machine for the file to grow. */
const STEP_WAIT_MS = 20_000;
/** Extra time for the relay itself before a step counts as unanswered. */
const RELAY_SLACK_MS = 10_000;
/** Bytes of stored stdout scanned for the last lines. */
const LOG_TAIL_WINDOW = 1024 * 1024;
/** Consecutive failed steps (machine not answering, file gone) before the stream ends. */
const MAX_STEP_FAILURES = 5;
const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * Checks access and reads the last lines at once, so a bad id, a task not running yet or a
 * missing file is an error before anything is streamed; then follows.
 */
export async function openTaskFileFollow(
  deps: ServiceDeps,
  principal: Principal,
  taskId: string,
  options: FollowTaskFileOptions,
): Promise<TaskFileFollow> {
  requireUser(principal);
  const task = await getVisibleTask(deps, principal, taskId);
  const follow = (offset: number, attempt: number): AsyncIterable<Uint8Array> =>
    options.path === undefined
      ? readTaskLog(deps, principal, taskId, {
          stream: "stdout",
          follow: true,
          offset,
          signal: options.signal,
        })
      : followSteps(deps, principal, task.id, options.path, offset, attempt, options.signal);
  if (options.offset !== undefined) {
    return { offset: options.offset, head: "", rest: follow(options.offset, task.attempt) };
  }
  if (options.path === undefined) {
    const { text, end } = await lastLinesOfStdout(deps, taskId, options.lines);
    return { offset: end, head: text, rest: follow(end, task.attempt) };
  }
  const first = (await introspectTask(deps, principal, taskId, "tail", {
    path: options.path,
    lines: options.lines,
  })) as { lines: string[]; size?: number };
  const head = first.lines.map((line) => `${line}\n`).join("");
  // A stored answer (the task has ended) has no size: the file is complete, nothing follows.
  if (first.size === undefined) return { offset: 0, head, rest: emptyStream() };
  return { offset: first.size, head, rest: follow(first.size, task.attempt) };
}

async function* emptyStream(): AsyncGenerator<Uint8Array> {
  // nothing follows a finished task's file
}

async function lastLinesOfStdout(
  deps: ServiceDeps,
  taskId: string,
  count: number,
): Promise<{ text: string; end: number }> {
  const size = await deps.blobs.logSize(taskId, "stdout");
  let end = Math.max(0, size - LOG_TAIL_WINDOW);
  const chunks: Buffer[] = [];
  for await (const chunk of deps.blobs.readLog(taskId, "stdout", end) as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    end += chunk.byteLength;
  }
  return { text: lastLines(Buffer.concat(chunks).toString("utf8"), count), end };
}

/** The last `count` lines of `text`; a last line without its newline counts as a line. */
export function lastLines(text: string, count: number): string {
  const ended = text.endsWith("\n");
  const body = ended ? text.slice(0, -1) : text;
  if (body === "") return text;
  return body.split("\n").slice(-count).join("\n") + (ended ? "\n" : "");
}

async function* followSteps(
  deps: ServiceDeps,
  principal: Principal,
  taskId: string,
  path: string,
  startOffset: number,
  startAttempt: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  let offset = startOffset;
  let attempt = startAttempt;
  let failures = 0;
  while (signal?.aborted !== true) {
    const task = await deps.store.getTask(taskId);
    if (task === undefined) return;
    if (isTerminalStatus(task.status)) {
      yield* readStoredRest(deps, taskId, path, offset);
      return;
    }
    if (task.status !== "started" || task.machine === undefined) {
      // Back in the queue (its machine was lost): the next attempt writes the file anew.
      await waitForTask(deps, principal, taskId, STEP_WAIT_MS, signal, task.status);
      continue;
    }
    if (task.attempt !== attempt) [attempt, offset] = [task.attempt, 0];
    const step = await followStep(deps, task, path, offset, signal);
    if (step === "changed") continue;
    if (step instanceof FlotillaError) {
      if (++failures >= MAX_STEP_FAILURES) return;
      await waitForTask(deps, principal, taskId, RETRY_AFTER_FAILURE_MS, signal, "started");
      continue;
    }
    failures = 0;
    if (step.text !== "") yield Buffer.from(step.text, "utf8");
    offset = step.nextOffset;
  }
}

interface FileChunk {
  readonly nextOffset: number;
  readonly text: string;
}

/**
 * One follow step on the task's machine, cut short when the task stops running there (so its end
 * is streamed at once, not after the step's wait). Errors are returned, not thrown.
 */
async function followStep(
  deps: ServiceDeps,
  task: Task,
  path: string,
  offset: number,
  signal: AbortSignal | undefined,
): Promise<FileChunk | FlotillaError | "changed"> {
  const stop = new AbortController();
  const unsubscribe = deps.events.tasks.subscribe(task.id, (next) => {
    if (next.status !== "started" || next.attempt !== task.attempt) stop.abort();
  });
  const onAbort = (): void => stop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Subscribed first, then checked: a change in between is not missed.
    const fresh = await deps.store.getTask(task.id);
    if (fresh?.status !== "started" || fresh.attempt !== task.attempt) return "changed";
    const stopped = new Promise<"changed">((resolve) =>
      stop.signal.addEventListener("abort", () => resolve("changed"), { once: true }),
    );
    const answer = requestChunk(deps, task, path, offset);
    return await Promise.race([answer, stopped]);
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", onAbort);
  }
}

async function requestChunk(
  deps: ServiceDeps,
  task: Task,
  path: string,
  offset: number,
): Promise<FileChunk | FlotillaError> {
  const machineId = task.machine?.id ?? "";
  try {
    const reply = await deps.control.request(
      machineId,
      {
        type: "introspect",
        taskId: task.id,
        command: "tail",
        args: { path, offset, waitMs: STEP_WAIT_MS },
      },
      STEP_WAIT_MS + RELAY_SLACK_MS,
    );
    if (!reply.ok) {
      const code = isErrorCode(reply.error?.code) ? reply.error.code : "INTERNAL";
      return new FlotillaError(code, reply.error?.message ?? `machine ${machineId} failed`);
    }
    const chunk = reply.result as Partial<FileChunk> | undefined;
    if (typeof chunk?.text !== "string" || typeof chunk.nextOffset !== "number") {
      return new FlotillaError("INTERNAL", `machine ${machineId} sent a malformed tail answer`);
    }
    return { text: chunk.text, nextOffset: chunk.nextOffset };
  } catch (error) {
    return error instanceof FlotillaError ? error : new FlotillaError("INTERNAL", String(error));
  }
}

/** What the stored output file holds past `offset`; nothing when it is not an output. */
async function* readStoredRest(
  deps: ServiceDeps,
  taskId: string,
  path: string,
  offset: number,
): AsyncGenerator<Uint8Array> {
  let source: AsyncIterable<Buffer>;
  try {
    source = deps.blobs.openOutputFile(taskId, path) as AsyncIterable<Buffer>;
  } catch {
    return; // unchanged inputs and files the task removed are not outputs
  }
  let position = 0;
  for await (const chunk of source) {
    const skip = Math.max(0, Math.min(chunk.byteLength, offset - position));
    position += chunk.byteLength;
    if (skip < chunk.byteLength) yield chunk.subarray(skip);
  }
}
