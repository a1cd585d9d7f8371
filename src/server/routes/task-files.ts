// /api/v1/tasks/:id/files, /tail, /top, /last-modified-file: live introspection.
// `/tail?follow=1` streams text/plain: the last lines, then every appended byte until the task ends.
import { Readable } from "node:stream";
import { Hono } from "hono";
import { FOLLOW_OFFSET_HEADER, HEAD_BYTES_HEADER, TailQuery } from "../../protocol/task-files.js";
import { TaskIdParam } from "../../protocol/tasks.js";
import { openTaskFileFollow } from "../../services/follow-task-file.js";
import { introspectTask } from "../../services/introspect-task.js";
import type { AppEnv } from "../app-env.js";
import { parseParams, parseQuery } from "../validate.js";

export function taskFileRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/:id/files", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    return c.json({
      files: await introspectTask(c.var.deps, c.var.principal, id, "list-files", {}),
    });
  });
  routes.get("/:id/tail", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const { follow, offset, ...query } = parseQuery(c, TailQuery);
    if (follow !== "1" && follow !== "true") {
      return c.json(await introspectTask(c.var.deps, c.var.principal, id, "tail", query));
    }
    const opened = await openTaskFileFollow(c.var.deps, c.var.principal, id, {
      ...query,
      offset,
      signal: c.req.raw.signal,
    });
    const head = Buffer.from(opened.head, "utf8");
    async function* body(): AsyncGenerator<Uint8Array> {
      if (head.byteLength > 0) yield head;
      yield* opened.rest;
    }
    return new Response(Readable.toWeb(Readable.from(body())) as ReadableStream, {
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        [FOLLOW_OFFSET_HEADER]: String(opened.offset),
        [HEAD_BYTES_HEADER]: String(head.byteLength),
      },
    });
  });
  routes.get("/:id/top", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    return c.json({ processes: await introspectTask(c.var.deps, c.var.principal, id, "top", {}) });
  });
  routes.get("/:id/last-modified-file", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    return c.json(await introspectTask(c.var.deps, c.var.principal, id, "last-modified-file", {}));
  });
  return routes;
}
