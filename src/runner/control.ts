// The control channel: a long poll that is always open, so a kill or an introspection request
// reaches the machine at once even though the runner never listens on a port.
import { FlotillaError } from "../domain/errors.js";
import type { ControlMessage, ControlReply } from "../protocol/runner.js";
import { createBackoff, pause } from "./backoff.js";
import type { IntrospectCommand } from "./introspect.js";
import type { RunnerApi } from "./runner-api.js";

const CONTROL_WAIT_MS = 30_000;

export interface ControlHandlers {
  onKill(taskId: string, graceMs: number): void;
  onStop(): void;
  /** Answers an introspection request about `taskId` (throws FlotillaError to refuse). */
  introspect(
    taskId: string,
    command: IntrospectCommand,
    args: Record<string, unknown>,
  ): Promise<unknown>;
}

export interface ControlLoopOptions {
  readonly api: RunnerApi;
  readonly machineId: () => string;
  /** Ends the loop (and the open poll). */
  readonly signal: AbortSignal;
  readonly handlers: ControlHandlers;
  readonly log: (line: string) => void;
}

/** Polls until `signal` aborts; resolves then. Network errors back off from 200 ms to 5 s. */
export async function runControlLoop(options: ControlLoopOptions): Promise<void> {
  const backoff = createBackoff();
  while (!options.signal.aborted) {
    let messages: ControlMessage[];
    try {
      messages = await options.api.pollControl(
        options.machineId(),
        CONTROL_WAIT_MS,
        options.signal,
      );
      backoff.reset();
    } catch (error) {
      if (options.signal.aborted) return;
      // MACHINE_NOT_FOUND too: the claim loop registers again, then this poll works again.
      options.log(`control poll failed: ${error instanceof Error ? error.message : String(error)}`);
      await pause(backoff.nextDelayMs(), options.signal);
      continue;
    }
    for (const message of messages) handleMessage(options, message);
  }
}

function handleMessage(options: ControlLoopOptions, message: ControlMessage): void {
  switch (message.type) {
    case "kill":
      options.handlers.onKill(message.taskId, message.graceMs);
      return;
    case "stop":
      options.handlers.onStop();
      return;
    case "introspect":
      // Answered concurrently: a slow `list-files` must not hold up a kill behind it.
      void answerIntrospection(options, message);
      return;
  }
}

async function answerIntrospection(
  options: ControlLoopOptions,
  message: Extract<ControlMessage, { type: "introspect" }>,
): Promise<void> {
  const machineId = options.machineId();
  let reply: ControlReply;
  try {
    const result = await options.handlers.introspect(message.taskId, message.command, message.args);
    reply = { machineId, ok: true, result };
  } catch (error) {
    const code = error instanceof FlotillaError ? error.code : "INTERNAL";
    const text = error instanceof Error ? error.message : String(error);
    reply = { machineId, ok: false, error: { code, message: text } };
  }
  try {
    await options.api.replyControl(message.requestId, reply);
  } catch (error) {
    // The server gives up on its side after a timeout; nothing to retry for.
    options.log(`could not answer ${message.command} for task ${message.taskId}: ${String(error)}`);
  }
}
