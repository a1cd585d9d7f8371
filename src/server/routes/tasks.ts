// /api/v1/tasks: create, input upload, get, list, wait, events, position, kill, outputs, logs.
import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { InvalidInputError } from "../../domain/errors.js";
import { isTerminalStatus } from "../../domain/task-status.js";
import { streamSink, type TarSink } from "../../lib/tar-files.js";
import {
  CreateTaskRequest,
  ListTasksQuery,
  LogsQuery,
  TaskIdParam,
  WaitQuery,
} from "../../protocol/tasks.js";
import { toTaskView } from "../../protocol/views.js";
import { readTaskLog } from "../../services/follow-log.js";
import { killTask } from "../../services/kill-task.js";
import {
  getOutputManifest,
  getTask,
  listTasks,
  openOutputArchive,
  waitForTask,
} from "../../services/query-tasks.js";
import { receiveInput, submitTask } from "../../services/submit-task.js";
import type { AppEnv } from "../app-env.js";
import { parseJsonBody, parseParams, parseQuery } from "../validate.js";

export function taskRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/", async (c) => {
    const { input, ...request } = await parseJsonBody(c, CreateTaskRequest);
    const task = await submitTask(c.var.deps, c.var.principal, request);
    if (input === undefined) return c.json(toTaskView(task), 201);
    // A small input sent along: received as the PUT would (a rejected one fails the task).
    const archive = Buffer.from(input, "base64");
    const queued = await receiveInput(c.var.deps, c.var.principal, task.id, archive);
    return c.json(toTaskView(queued), 201);
  });

  routes.put("/:id/input", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const body = c.req.raw.body;
    if (body === null)
      throw new InvalidInputError("send the input directory as a tar.gz request body");
    const task = await receiveInput(
      c.var.deps,
      c.var.principal,
      id,
      Readable.fromWeb(body as never),
    );
    return c.json(toTaskView(task));
  });

  routes.get("/", async (c) => {
    const query = parseQuery(c, ListTasksQuery, ["status"]);
    const page = await listTasks(c.var.deps, c.var.principal, { ...query, statuses: query.status });
    return c.json({
      tasks: page.tasks.map(toTaskView),
      ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
    });
  });

  routes.get("/:id", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    return c.json(toTaskView(await getTask(c.var.deps, c.var.principal, id)));
  });

  routes.get("/:id/wait", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const { timeoutMs, status } = parseQuery(c, WaitQuery);
    const task = await waitForTask(
      c.var.deps,
      c.var.principal,
      id,
      timeoutMs,
      c.req.raw.signal,
      status,
    );
    return c.json(toTaskView(task));
  });

  routes.get("/:id/events", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const { deps, principal } = c.var;
    const first = await getTask(deps, principal, id);
    return streamSSE(c, async (stream) => {
      let last = first;
      await stream.writeSSE({ event: "status", data: JSON.stringify(toTaskView(last)) });
      while (!isTerminalStatus(last.status) && !stream.aborted) {
        const next = await waitForTask(deps, principal, id, 15_000, c.req.raw.signal, last.status);
        if (next.status !== last.status || next.killRequestedAt !== last.killRequestedAt) {
          await stream.writeSSE({ event: "status", data: JSON.stringify(toTaskView(next)) });
        } else {
          await stream.writeSSE({ event: "ping", data: "{}" });
        }
        last = next;
      }
    });
  });

  routes.get("/:id/position", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const task = await getTask(c.var.deps, c.var.principal, id);
    return c.json({
      taskId: task.id,
      status: task.status,
      queuePosition: task.queuePosition ?? null,
    });
  });

  routes.post("/:id/kill", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const { result, task } = await killTask(c.var.deps, c.var.principal, id);
    return c.json({ result, task: toTaskView(task) });
  });

  routes.get("/:id/outputs", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const manifest = await getOutputManifest(c.var.deps, c.var.principal, id);
    return c.json({ taskId: id, files: manifest.files, totalBytes: manifest.totalBytes });
  });

  routes.get("/:id/outputs/archive", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const files = c.req.queries("files")?.filter((file) => file !== "");
    const archive = await openOutputArchive(c.var.deps, c.var.principal, id, files);
    const headers = {
      "content-type": "application/x-tar",
      "content-disposition": `attachment; filename="${id}-outputs.tar"`,
    };
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (outgoing === undefined) {
      // Not served by @hono/node-server (app.request in tests): a web stream of copies.
      return new Response(Readable.toWeb(archive.stream()) as ReadableStream, { headers });
    }
    await sendArchive(outgoing, archive, headers, (error) =>
      c.var.deps.log("sending an output archive failed", { taskId: id, error: String(error) }),
    );
    return RESPONSE_ALREADY_SENT;
  });

  routes.get("/:id/logs", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const query = parseQuery(c, LogsQuery);
    const follow = query.follow === "1" || query.follow === "true";
    await getTask(c.var.deps, c.var.principal, id); // a bad id is a 404 before the stream starts
    const body = Readable.from(
      readTaskLog(c.var.deps, c.var.principal, id, {
        stream: query.stream,
        follow,
        offset: query.offset,
        signal: c.req.raw.signal,
      }),
    );
    return new Response(Readable.toWeb(body) as ReadableStream, {
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  });

  return routes;
}

// Straight to the socket: the archive's buffers are reused once the kernel has their bytes. A
// failure after the headers went out can only cut the connection (the client sees a truncated
// archive and says to download again).
async function sendArchive(
  outgoing: ServerResponse,
  archive: { writeTo(sink: TarSink, signal: AbortSignal): Promise<void> },
  headers: Record<string, string>,
  onFailure: (error: unknown) => void,
): Promise<void> {
  const gone = new AbortController();
  const onClose = (): void => {
    if (!outgoing.writableFinished) gone.abort(new Error("the client closed the connection"));
  };
  outgoing.once("close", onClose);
  try {
    outgoing.writeHead(200, headers);
    await archive.writeTo(streamSink(outgoing), gone.signal);
    outgoing.end();
  } catch (error) {
    if (!gone.signal.aborted) onFailure(error);
    outgoing.destroy();
  } finally {
    outgoing.off("close", onClose);
  }
}
