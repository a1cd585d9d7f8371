// Direct protocol calls against a real server, for end-to-end tests that check what the SDK hides.
import { Readable } from "node:stream";
import { packDirectory } from "../../src/lib/archive.js";
import { HttpClient } from "../../src/sdk/http-client.js";
import { KillView, TaskView } from "../../src/protocol/tasks.js";
import { MachineGroupView } from "../../src/protocol/machine-groups.js";

export function clientFor(server: { url: string; token: string }): HttpClient {
  return new HttpClient({ url: server.url, token: server.token });
}

export async function startGroup(
  http: HttpClient,
  name: string,
  numMachines: number,
): Promise<MachineGroupView> {
  return http.json(MachineGroupView, "/machine-groups", {
    json: { name, provider: "local", numMachines },
  });
}

export async function submitDir(
  http: HttpClient,
  dir: string,
  body: {
    commands: string[][];
    machineGroup: string;
    env?: Record<string, string>;
    killGraceMs?: number;
    project?: string;
  },
): Promise<TaskView> {
  const created = await http.json(TaskView, "/tasks", { json: { simulator: "custom", ...body } });
  return http.json(TaskView, `/tasks/${created.id}/input`, {
    method: "PUT",
    body: Readable.toWeb(packDirectory(dir, { gzip: true })) as ReadableStream,
  });
}

export async function waitFor(http: HttpClient, id: string, timeoutMs = 60_000): Promise<TaskView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await http.json(TaskView, `/tasks/${id}/wait`, {
      query: { timeoutMs: Math.min(30_000, Math.max(1, deadline - Date.now())) },
    });
    if (task.isTerminal || Date.now() >= deadline) return task;
  }
}

export async function kill(http: HttpClient, id: string): Promise<KillView> {
  return http.json(KillView, `/tasks/${id}/kill`, { method: "POST" });
}

export async function getTask(http: HttpClient, id: string): Promise<TaskView> {
  return http.json(TaskView, `/tasks/${id}`);
}
