// /api/v1/projects and /api/v1/simulators.
import { Hono } from "hono";
import { listProjects, listSimulatorAvailability } from "../../services/catalog.js";
import type { AppEnv } from "../app-env.js";

export function catalogRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/projects", async (c) =>
    c.json({ projects: await listProjects(c.var.deps, c.var.principal) }),
  );
  routes.get("/simulators", async (c) =>
    c.json({ simulators: await listSimulatorAvailability(c.var.deps, c.var.principal) }),
  );
  return routes;
}
