// Helpers that speak the real HTTP protocol to a TestApp: submit with an input archive, and play
// a machine through the runner protocol.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { packDirectory } from "../../src/lib/archive.js";
import type { TaskView } from "../../src/protocol/tasks.js";
import type { TestApp } from "./app-harness.js";

export async function json<T = Record<string, unknown>>(
  response: Response,
  status: number,
): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, `expected HTTP ${status}, got ${response.status}: ${text}`);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

export async function errorOf(
  response: Response,
  status: number,
): Promise<{ code: string; message: string }> {
  const body = await json<{ error: { code: string; message: string } }>(response, status);
  return body.error;
}

/** A gzip tar of a directory made of `files` (relative path → content). */
export async function makeInputArchive(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-input-"));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of packDirectory(dir, { gzip: true }) as AsyncIterable<Buffer>)
      chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function createGroup(app: TestApp, name: string, numMachines = 1): Promise<string> {
  await json(
    await app.request("POST", "/api/v1/machine-groups", {
      json: { name, provider: "local", numMachines },
    }),
    201,
  );
  const started = app.provider.started.find((entry) => entry.group === name);
  assert.ok(started, `the provider was asked to start ${name}`);
  return started.token;
}

export async function createTask(app: TestApp, body: Record<string, unknown>): Promise<TaskView> {
  return json<TaskView>(
    await app.request("POST", "/api/v1/tasks", {
      json: { simulator: "custom", commands: [["true"]], ...body },
    }),
    201,
  );
}

export async function submit(
  app: TestApp,
  body: Record<string, unknown>,
  files: Record<string, string> = { "in.txt": "x" },
): Promise<TaskView> {
  const task = await createTask(app, body);
  const archive = await makeInputArchive(files);
  return json<TaskView>(
    await app.request("PUT", `/api/v1/tasks/${task.id}/input`, { body: archive }),
    200,
  );
}

export interface FakeMachine {
  readonly id: string;
  claim(waitMs?: number): Promise<TaskView | undefined>;
  started(taskId: string): Promise<Response>;
  finish(taskId: string, body: Record<string, unknown>): Promise<Response>;
  log(taskId: string, stream: "stdout" | "stderr", text: string): Promise<Response>;
  uploadOutputs(taskId: string, files: Record<string, string>): Promise<Response>;
  call(method: string, path: string, json?: unknown): Promise<Response>;
}

/** Registers a machine with the group's runner token; the test plays the runner. */
export async function registerMachine(
  app: TestApp,
  group: string,
  token: string,
  preassignedId?: string,
  simulators: Record<string, string> = {},
): Promise<FakeMachine> {
  const { machineId } = await json<{ machineId: string }>(
    await app.request("POST", "/api/v1/runner/register", {
      token,
      json: {
        machineGroup: group,
        host: "test-host",
        simulators,
        ...(preassignedId === undefined ? {} : { machineId: preassignedId }),
      },
    }),
    200,
  );
  const call = (method: string, path: string, body?: unknown): Promise<Response> =>
    app.request(method, `/api/v1/runner${path}`, {
      token,
      ...(body === undefined ? {} : { json: body }),
    });
  return {
    id: machineId,
    call,
    async claim(waitMs = 0) {
      const response = await call("POST", "/claim", { machineId, waitMs });
      if (response.status === 204) return undefined;
      return (await json<{ task: TaskView }>(response, 200)).task;
    },
    started: (taskId) =>
      call("POST", `/tasks/${taskId}/started`, { machineId, inputDownloadMs: 5 }),
    finish: (taskId, body) => call("POST", `/tasks/${taskId}/finish`, { machineId, ...body }),
    log: (taskId, stream, text) =>
      app.request(
        "POST",
        `/api/v1/runner/tasks/${taskId}/logs?machineId=${machineId}&stream=${stream}`,
        { token, body: Buffer.from(text) },
      ),
    async uploadOutputs(taskId, files) {
      const archive = await makeInputArchive(files);
      return app.request("PUT", `/api/v1/runner/tasks/${taskId}/outputs?machineId=${machineId}`, {
        token,
        body: archive,
      });
    },
  };
}
