// The server side of the runner's control channel: messages queued per machine, delivered by the
// runner's long poll, and request/reply for live introspection. The runner never listens on a port.
import { FlotillaError } from "../domain/errors.js";
import { createId } from "../domain/ids.js";
import { createEventHub, waitForEvent } from "../lib/event-hub.js";

export type ControlMessage =
  | { requestId: string; type: "kill"; taskId: string; graceMs: number }
  | { requestId: string; type: "stop" }
  | {
      requestId: string;
      type: "introspect";
      taskId: string;
      command: "list-files" | "tail" | "top" | "last-modified-file";
      args: Record<string, unknown>;
    };

export type ControlMessageInput = ControlMessage extends infer M
  ? M extends { requestId: string }
    ? Omit<M, "requestId">
    : never
  : never;

export interface ControlReply {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { code: string; message: string } | undefined;
}

interface PendingRequest {
  readonly machineId: string;
  readonly resolve: (reply: ControlReply) => void;
}

export interface ControlChannel {
  /** Queues a message for the machine; returns its request id. */
  send(machineId: string, message: ControlMessageInput): string;
  /** Sends and waits for the machine's reply (MACHINE_UNREACHABLE after `timeoutMs`). */
  request(
    machineId: string,
    message: ControlMessageInput,
    timeoutMs: number,
  ): Promise<ControlReply>;
  /** The runner's long poll: queued messages, or [] after `waitMs`. */
  poll(machineId: string, waitMs: number, signal?: AbortSignal): Promise<ControlMessage[]>;
  /** A reply from the machine; false if no such request is waiting (timed out, or not its own). */
  reply(machineId: string, requestId: string, reply: ControlReply): boolean;
  /** Drops a machine's queue (machine gone). */
  forget(machineId: string): void;
  /**
   * True while the machine's long poll waits on this server, or ended here moments ago (its
   * runner is between two polls): the machine is attached to this server.
   */
  isAttached(machineId: string): boolean;
}

/** A machine that polled here this recently is still attached (it polls again at once). */
const ATTACHED_GRACE_MS = 15_000;

export function createControlChannel(): ControlChannel {
  const queues = new Map<string, ControlMessage[]>();
  const arrivals = createEventHub<void>();
  const pending = new Map<string, PendingRequest>();
  const lastPolls = new Map<string, number>();

  const send = (machineId: string, message: ControlMessageInput): string => {
    const requestId = createId();
    const queue = queues.get(machineId) ?? [];
    queue.push({ ...message, requestId });
    queues.set(machineId, queue);
    arrivals.publish(machineId, undefined);
    return requestId;
  };

  return {
    send,
    isAttached: (machineId) =>
      arrivals.listenerCount(machineId) > 0 ||
      Date.now() - (lastPolls.get(machineId) ?? -Infinity) < ATTACHED_GRACE_MS,
    async request(machineId, message, timeoutMs) {
      const requestId = send(machineId, message);
      return new Promise<ControlReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(requestId);
          reject(
            new FlotillaError(
              "MACHINE_UNREACHABLE",
              `machine ${machineId} did not answer within ${timeoutMs} ms; it may be overloaded or lost, try again`,
            ),
          );
        }, timeoutMs);
        pending.set(requestId, {
          machineId,
          resolve: (reply) => {
            clearTimeout(timer);
            pending.delete(requestId);
            resolve(reply);
          },
        });
      });
    },
    async poll(machineId, waitMs, signal) {
      lastPolls.set(machineId, Date.now());
      const messages = await waitForEvent(
        arrivals,
        machineId,
        () => {
          const queue = queues.get(machineId);
          if (queue === undefined || queue.length === 0) return Promise.resolve(undefined);
          queues.delete(machineId);
          return Promise.resolve(queue);
        },
        { timeoutMs: waitMs, signal },
      );
      lastPolls.set(machineId, Date.now());
      return messages ?? [];
    },
    reply(machineId, requestId, reply) {
      const request = pending.get(requestId);
      if (request === undefined || request.machineId !== machineId) return false;
      request.resolve(reply);
      return true;
    },
    forget(machineId) {
      queues.delete(machineId);
      lastPolls.delete(machineId);
    },
  };
}
