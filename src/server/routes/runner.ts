// /api/v1/runner: the runner protocol (see src/protocol/runner.ts for the sequence).
import { Readable } from "node:stream";
import { Hono } from "hono";
import { InvalidInputError } from "../../domain/errors.js";
import { TaskIdParam } from "../../protocol/tasks.js";
import {
  ClaimRequest,
  type ClaimResponse,
  ControlQuery,
  ControlReply,
  FinishRequest,
  type FinishResponse,
  HeartbeatRequest,
  INLINE_INPUT_MAX_BYTES,
  MachineQuery,
  RegisterRequest,
  StartedRequest,
} from "../../protocol/runner.js";
import { toTaskView } from "../../protocol/views.js";
import { finishTask, receiveOutputs } from "../../services/finish-task.js";
import {
  appendTaskLog,
  claimTask,
  claimWithoutWaiting,
  heartbeat,
  markStarted,
  openTaskInput,
  pollControl,
  registerMachine,
  replyToControl,
  smallTaskInput,
} from "../../services/serve-runner.js";
import type { Task } from "../../domain/task.js";
import type { ServiceDeps } from "../../services/service-deps.js";
import type { AppEnv } from "../app-env.js";
import { parseJsonBody, parseParams, parseQuery } from "../validate.js";
import { z } from "zod";

const LogStreamQuery = MachineQuery.extend({ stream: z.enum(["stdout", "stderr"]) });

export function runnerRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const deps = (c: { var: AppEnv["Variables"] }) => c.var.deps;
  const principal = (c: { var: AppEnv["Variables"] }) => c.var.principal;

  routes.post("/register", async (c) => {
    const request = await parseJsonBody(c, RegisterRequest);
    const machine = await registerMachine(deps(c), principal(c), request);
    const { leaseMs, heartbeatMs } = deps(c).settings;
    return c.json({ machineId: machine.id, leaseMs, heartbeatMs });
  });

  routes.post("/claim", async (c) => {
    const { machineId, waitMs } = await parseJsonBody(c, ClaimRequest);
    const task = await claimTask(deps(c), principal(c), machineId, waitMs, c.req.raw.signal);
    if (task === undefined) return c.body(null, 204);
    return c.json(await claimAnswer(deps(c), task));
  });

  routes.get("/tasks/:id/input", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const { machineId } = parseQuery(c, MachineQuery);
    const input = await openTaskInput(deps(c), principal(c), machineId, id);
    return new Response(Readable.toWeb(input) as ReadableStream, {
      // A tar or a tar.gz, as the client sent it (readers look at the first bytes).
      headers: { "content-type": "application/octet-stream" },
    });
  });

  routes.post("/tasks/:id/started", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const request = await parseJsonBody(c, StartedRequest);
    return c.json(
      toTaskView(await markStarted(deps(c), principal(c), request.machineId, id, request)),
    );
  });

  routes.post("/heartbeat", async (c) => {
    const request = await parseJsonBody(c, HeartbeatRequest);
    return c.json(await heartbeat(deps(c), principal(c), request.machineId, request.taskId));
  });

  routes.post("/tasks/:id/logs", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const { machineId, stream } = parseQuery(c, LogStreamQuery);
    const chunk = new Uint8Array(await c.req.arrayBuffer());
    await appendTaskLog(deps(c), principal(c), machineId, id, stream, chunk);
    return c.body(null, 204);
  });

  routes.put("/tasks/:id/outputs", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const { machineId } = parseQuery(c, MachineQuery);
    const body = c.req.raw.body;
    if (body === null) throw new InvalidInputError("send the outputs as a tar request body");
    const manifest = await receiveOutputs(
      deps(c),
      principal(c),
      machineId,
      id,
      Readable.fromWeb(body as never),
    );
    return c.json({ files: manifest.files, totalBytes: manifest.totalBytes });
  });

  routes.post("/tasks/:id/finish", async (c) => {
    const { id } = parseParams(c, TaskIdParam);
    const request = await parseJsonBody(c, FinishRequest);
    const task = await finishTask(deps(c), principal(c), request.machineId, id, request);
    const next =
      request.claimNext === true
        ? await claimWithoutWaiting(deps(c), principal(c), request.machineId)
        : undefined;
    const answer: FinishResponse = {
      task: toTaskView(task),
      ...(next === undefined ? {} : { next: await claimAnswer(deps(c), next) }),
    };
    return c.json(answer);
  });

  routes.get("/control", async (c) => {
    const { machineId, waitMs } = parseQuery(c, ControlQuery);
    const messages = await pollControl(deps(c), principal(c), machineId, waitMs, c.req.raw.signal);
    return c.json({ messages });
  });

  routes.post("/control/:requestId/reply", async (c) => {
    const reply = await parseJsonBody(c, ControlReply);
    await replyToControl(deps(c), principal(c), reply.machineId, c.req.param("requestId"), reply);
    return c.body(null, 204);
  });

  return routes;
}

/** A claimed task as the runner gets it: with its input archive when that is small. */
async function claimAnswer(deps: ServiceDeps, task: Task): Promise<ClaimResponse> {
  const input = await smallTaskInput(deps, task.id, INLINE_INPUT_MAX_BYTES);
  return {
    task: toTaskView(task),
    ...(input === undefined ? {} : { input: input.toString("base64") }),
  };
}
