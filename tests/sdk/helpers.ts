// Helpers for SDK tests that need no flotilla server: a client pointed at a closed port (any
// request fails with UNAVAILABLE, so an InvalidInputError proves the check came first), and a
// small HTTP server that records requests and answers what the test says.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Flotilla } from "../../src/sdk/client.js";
import type { TaskView } from "../../src/protocol/tasks.js";

/** A URL on 127.0.0.1 where nothing listens. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}

export async function closedPortClient(): Promise<Flotilla> {
  return new Flotilla({ url: await closedPortUrl(), token: "test-token" });
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Buffer;
}

export type Answer = (request: RecordedRequest, response: ServerResponse) => void;

export interface RecordingServer {
  readonly url: string;
  readonly client: Flotilla;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An HTTP server that records every request and lets `answer` reply. */
export async function startRecordingServer(answer: Answer): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const recorded = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      answer(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    client: new Flotilla({ url, token: "test-token" }),
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

export function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  sendJson(response, status, { error: { code, message } });
}

/** A task record as the server would send it. */
export function taskView(overrides: Partial<TaskView> = {}): TaskView {
  return {
    id: "0lx3k9v2a7b4c1d",
    owner: "admin",
    project: "default",
    simulator: "custom",
    commands: [["true"]],
    machineGroup: "default",
    status: "in-queue",
    isTerminal: false,
    statusHistory: [],
    createdAt: new Date(0).toISOString(),
    attempt: 1,
    metrics: {},
    env: {},
    killGraceMs: 10_000,
    ...overrides,
  };
}

export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-sdk-test-"));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
