// The Hono app from its dependencies (no listen): auth, routes, and the error envelope.
import { Hono } from "hono";
import { FlotillaError } from "../domain/errors.js";
import { API_PREFIX } from "../protocol/common.js";
import type { ServiceDeps } from "../services/service-deps.js";
import { authenticate } from "../services/users.js";
import type { AppEnv } from "./app-env.js";
import { toErrorResponse } from "./http-errors.js";
import { createServerMetrics } from "./metrics.js";
import { catalogRoutes } from "./routes/catalog.js";
import { machineGroupRoutes } from "./routes/machine-groups.js";
import { runnerRoutes } from "./routes/runner.js";
import { taskRoutes } from "./routes/tasks.js";
import { taskFileRoutes } from "./routes/task-files.js";
import { userRoutes } from "./routes/users.js";

export const SERVER_VERSION = "0.1.0";

export function createApp(deps: ServiceDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((error, c) => {
    const { status, body } = toErrorResponse(error, deps.log);
    return c.json(body, status as 400);
  });
  app.notFound((c) =>
    c.json(
      {
        error: {
          code: "NOT_FOUND",
          message: `no route ${c.req.method} ${c.req.path}; see DESIGN.md for the API`,
        },
      },
      404,
    ),
  );
  const metrics = createServerMetrics();
  metrics.observeTasks(deps.events.tasks);
  app.use("*", metrics.middleware);
  app.get("/healthz", (c) => c.json({ ok: true, version: SERVER_VERSION }));
  app.get("/metrics", (c) =>
    c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
  app.use(`${API_PREFIX}/*`, async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match?.[1] === undefined) {
      throw new FlotillaError(
        "UNAUTHORIZED",
        "no token: send `Authorization: Bearer <token>` (the local token is in ~/.config/flotilla/credentials.json, or set FLOTILLA_TOKEN)",
      );
    }
    const principal = await authenticate(deps, match[1]);
    if (principal === undefined) {
      throw new FlotillaError(
        "UNAUTHORIZED",
        "the token is not valid or was revoked; ask an admin for a new one",
      );
    }
    c.set("principal", principal);
    c.set("deps", deps);
    await next();
  });
  app.route(`${API_PREFIX}/tasks`, taskRoutes());
  app.route(`${API_PREFIX}/tasks`, taskFileRoutes());
  app.route(`${API_PREFIX}/machine-groups`, machineGroupRoutes());
  app.route(`${API_PREFIX}/runner`, runnerRoutes());
  app.route(API_PREFIX, catalogRoutes());
  app.route(`${API_PREFIX}/users`, userRoutes());
  return app;
}
