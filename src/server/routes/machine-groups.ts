// /api/v1/machine-groups: create and start, list, get, terminate, runner tokens.
import { Hono } from "hono";
import {
  CreateMachineGroupRequest,
  MachineGroupNameParam,
  type RunnerTokenView,
} from "../../protocol/machine-groups.js";
import { toMachineGroupView } from "../../protocol/views.js";
import {
  createMachineGroup,
  getMachineGroup,
  issueRunnerToken,
  listMachineGroups,
  terminateMachineGroup,
  type MachineGroupDetails,
} from "../../services/machine-groups.js";
import type { AppEnv } from "../app-env.js";
import { parseJsonBody, parseParams } from "../validate.js";

const view = (details: MachineGroupDetails) =>
  toMachineGroupView(details.group, details.machines, details.queued, details.starting);

export function machineGroupRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.post("/", async (c) => {
    const request = await parseJsonBody(c, CreateMachineGroupRequest);
    return c.json(view(await createMachineGroup(c.var.deps, c.var.principal, request)), 201);
  });
  routes.get("/", async (c) => {
    const groups = await listMachineGroups(c.var.deps, c.var.principal);
    return c.json({ machineGroups: groups.map(view) });
  });
  routes.get("/:name", async (c) => {
    const { name } = parseParams(c, MachineGroupNameParam);
    return c.json(view(await getMachineGroup(c.var.deps, c.var.principal, name)));
  });
  routes.post("/:name/runner-tokens", async (c) => {
    const { name } = parseParams(c, MachineGroupNameParam);
    const token = await issueRunnerToken(c.var.deps, c.var.principal, name);
    return c.json({ machineGroup: name, token } satisfies RunnerTokenView, 201);
  });
  routes.delete("/:name", async (c) => {
    const { name } = parseParams(c, MachineGroupNameParam);
    return c.json(view(await terminateMachineGroup(c.var.deps, c.var.principal, name)));
  });
  return routes;
}
