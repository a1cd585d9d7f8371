// Live introspection (list-files, tail, top, last-modified-file): relayed to the machine that runs
// the task through its control channel; for a finished task, answered from the stored outputs.
import { FlotillaError, isErrorCode } from "../domain/errors.js";
import type { Task } from "../domain/task.js";
import { isTerminalStatus } from "../domain/task-status.js";
import { getVisibleTask, requireUser, type Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";

export type IntrospectCommand = "list-files" | "tail" | "top" | "last-modified-file";

const RELAY_TIMEOUT_MS = 10_000;

export async function introspectTask(
  deps: ServiceDeps,
  principal: Principal,
  taskId: string,
  command: IntrospectCommand,
  args: Record<string, unknown>,
): Promise<unknown> {
  requireUser(principal);
  const task = await getVisibleTask(deps, principal, taskId);
  if (task.status === "started" && task.machine !== undefined) {
    const reply = await deps.control.request(
      task.machine.id,
      { type: "introspect", taskId, command, args },
      RELAY_TIMEOUT_MS,
    );
    if (reply.ok) return reply.result;
    const code = isErrorCode(reply.error?.code) ? reply.error.code : "INTERNAL";
    throw new FlotillaError(
      code,
      reply.error?.message ?? `machine ${task.machine.id} could not answer ${command}`,
    );
  }
  if (isTerminalStatus(task.status)) return answerFromOutputs(deps, task, command, args);
  throw new FlotillaError(
    "TASK_NOT_RUNNING",
    `task ${taskId} is ${task.status}; its files can be seen once it starts (\`flotilla logs ${taskId}\` waits for it)`,
    { details: { taskId, status: task.status } },
  );
}

async function answerFromOutputs(
  deps: ServiceDeps,
  task: Task,
  command: IntrospectCommand,
  args: Record<string, unknown>,
): Promise<unknown> {
  const manifest = await deps.blobs.getOutputManifest(task.id);
  const files = manifest?.files ?? [];
  switch (command) {
    case "list-files":
      return files.map((file) => ({
        path: file.path,
        size: file.size,
        mtimeMs: file.mtimeMs,
        isDirectory: false,
      }));
    case "last-modified-file": {
      const newest = [...files].sort((a, b) => (b.mtimeMs ?? 0) - (a.mtimeMs ?? 0))[0];
      if (newest === undefined) throw noOutputs(task);
      return { path: newest.path, mtimeMs: newest.mtimeMs, nowMs: deps.clock() };
    }
    case "tail":
      return tailStoredFile(deps, task, args);
    case "top":
      throw new FlotillaError(
        "TASK_NOT_RUNNING",
        `task ${task.id} is ${task.status}; top shows its processes only while it runs`,
        { details: { taskId: task.id, status: task.status } },
      );
  }
}

async function tailStoredFile(
  deps: ServiceDeps,
  task: Task,
  args: Record<string, unknown>,
): Promise<unknown> {
  const lines =
    typeof args.lines === "number" && args.lines > 0 ? Math.min(args.lines, 10_000) : 10;
  const path = typeof args.path === "string" && args.path !== "" ? args.path : undefined;
  const source =
    path === undefined
      ? deps.blobs.readLog(task.id, "stdout", 0)
      : deps.blobs.openOutputFile(task.id, path);
  const chunks: Buffer[] = [];
  for await (const chunk of source as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return { path: path ?? "stdout", lines: all.slice(-lines) };
}

function noOutputs(task: Task): FlotillaError {
  return new FlotillaError(
    "OUTPUTS_NOT_AVAILABLE",
    `task ${task.id} ended ${task.status} without output files`,
  );
}
