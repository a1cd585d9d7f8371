// The runner protocol (src/protocol/runner.ts) as typed calls over the shared HTTP transport.
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { z } from "zod";
import {
  ClaimResponse,
  ControlResponse,
  FinishResponse,
  HeartbeatResponse,
  OutputsUploadResponse,
  RegisterResponse,
  type ControlMessage,
  type ControlReply,
  type FinishRequest,
  type RegisterRequest,
  type StartedRequest,
} from "../protocol/runner.js";
import type { TaskView } from "../protocol/tasks.js";
import type { HttpClient } from "../sdk/http-client.js";

export type LogStream = "stdout" | "stderr";

/** A claimed task, with its input archive when the server sent it along (a small one). */
export interface ClaimedTask {
  readonly task: TaskView;
  readonly input?: Buffer | undefined;
}

export interface RunnerApi {
  register(request: RegisterRequest): Promise<RegisterResponse>;
  /** Long poll: the next task, or undefined when none came within `waitMs`. */
  claim(machineId: string, waitMs: number, signal?: AbortSignal): Promise<ClaimedTask | undefined>;
  openInput(machineId: string, taskId: string, signal?: AbortSignal): Promise<Readable>;
  started(taskId: string, request: StartedRequest): Promise<void>;
  heartbeat(machineId: string, taskId: string | undefined): Promise<HeartbeatResponse>;
  appendLog(machineId: string, taskId: string, stream: LogStream, chunk: Buffer): Promise<void>;
  uploadOutputs(
    machineId: string,
    taskId: string,
    archive: Readable,
    signal?: AbortSignal,
  ): Promise<z.infer<typeof OutputsUploadResponse>>;
  /** Ends the task; resolves with the next task when the request asked (`claimNext`) and one waited. */
  finish(taskId: string, request: FinishRequest): Promise<ClaimedTask | undefined>;
  pollControl(machineId: string, waitMs: number, signal?: AbortSignal): Promise<ControlMessage[]>;
  replyControl(requestId: string, reply: ControlReply): Promise<void>;
}

const taskPath = (taskId: string, rest: string): string =>
  `/runner/tasks/${encodeURIComponent(taskId)}/${rest}`;

export function createRunnerApi(client: HttpClient): RunnerApi {
  return {
    register: (request) =>
      client.json(RegisterResponse, "/runner/register", { method: "POST", json: request }),
    async claim(machineId, waitMs, signal) {
      // No task within waitMs: 204, no body.
      const text = await client.send("/runner/claim", {
        method: "POST",
        json: { machineId, waitMs },
        signal,
      });
      if (text === "") return undefined;
      return toClaimedTask(ClaimResponse.parse(JSON.parse(text)));
    },
    async openInput(machineId, taskId, signal) {
      const response = await client.fetch(taskPath(taskId, "input"), {
        query: { machineId },
        signal,
      });
      if (response.body === null) return Readable.from([]);
      return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    },
    async started(taskId, request) {
      await client.send(taskPath(taskId, "started"), { method: "POST", json: request });
    },
    heartbeat: (machineId, taskId) =>
      client.json(HeartbeatResponse, "/runner/heartbeat", {
        method: "POST",
        json: taskId === undefined ? { machineId } : { machineId, taskId },
      }),
    async appendLog(machineId, taskId, stream, chunk) {
      await client.send(taskPath(taskId, "logs"), {
        method: "POST",
        query: { stream, machineId },
        body: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      });
    },
    uploadOutputs: (machineId, taskId, archive, signal) =>
      client.json(OutputsUploadResponse, taskPath(taskId, "outputs"), {
        method: "PUT",
        query: { machineId },
        body: Readable.toWeb(archive) as ReadableStream<Uint8Array>,
        contentType: "application/x-tar",
        signal,
      }),
    async finish(taskId, request) {
      const answer = await client.json(FinishResponse, taskPath(taskId, "finish"), {
        method: "POST",
        json: request,
      });
      return answer.next === undefined ? undefined : toClaimedTask(answer.next);
    },
    async pollControl(machineId, waitMs, signal) {
      const answer = await client.json(ControlResponse, "/runner/control", {
        query: { machineId, waitMs },
        signal,
      });
      return answer.messages;
    },
    async replyControl(requestId, reply) {
      const path = `/runner/control/${encodeURIComponent(requestId)}/reply`;
      await client.send(path, { method: "POST", json: reply });
    },
  };
}

function toClaimedTask(answer: ClaimResponse): ClaimedTask {
  return {
    task: answer.task,
    input: answer.input === undefined ? undefined : Buffer.from(answer.input, "base64"),
  };
}
