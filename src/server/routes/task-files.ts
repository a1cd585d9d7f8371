// /api/v1/tasks/:id/files, /tail, /top, /last-modified-file: live introspection.
import { Hono } from "hono";
import { z } from "zod";
import { TaskIdParam } from "../../protocol/tasks.js";
import { introspectTask } from "../../services/introspect-task.js";
import type { AppEnv } from "../app-env.js";
import { parseParams, parseQuery } from "../validate.js";

const TailQuery = z.strictObject({
  lines: z.coerce.number().int().min(1).max(10_000).default(10),
  path: z.string().max(4096).optional(),
});

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
    const query = parseQuery(c, TailQuery);
    return c.json(await introspectTask(c.var.deps, c.var.principal, id, "tail", query));
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
