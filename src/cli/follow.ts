// Copies a followed text stream (`logs`, `tail -f`) to the terminal as it arrives. The server
// pushes every byte as it is written and ends the stream when the task ends; nothing here polls.
// A dropped connection (server restart, idle proxy) is resumed at the byte where it broke.
import { isFlotillaError, type Flotilla } from "../sdk/index.js";

/** One opened stream: its body, and where in the file its bytes after `headBytes` start. */
export interface OpenedStream {
  readonly body: ReadableStream<Uint8Array>;
  /** Byte offset in the followed file of the first byte after the head. */
  readonly offset: number;
  /** Bytes at the start of the body that are not at `offset` (the last lines of a tail). */
  readonly headBytes: number;
}

export interface FollowOptions {
  /** Opens the stream, resuming at `offset` when given. */
  readonly open: (offset: number | undefined) => Promise<OpenedStream>;
  readonly write: (text: string) => void;
  /** Reconnections in a row before giving up. */
  readonly maxRetries?: number;
}

const RETRY_BASE_MS = 250;

/** Resolves when the server ends the stream (the task ended); rejects when it cannot resume. */
export async function followText(options: FollowOptions): Promise<void> {
  const maxRetries = options.maxRetries ?? 6;
  let resumeAt: number | undefined;
  for (let failures = 0; ;) {
    let opened: OpenedStream;
    try {
      opened = await options.open(resumeAt);
    } catch (error) {
      if (!isConnectionError(error) || resumeAt === undefined || failures >= maxRetries)
        throw error;
      await delay(RETRY_BASE_MS * 2 ** failures++);
      continue;
    }
    const decoder = new TextDecoder();
    let received = 0;
    try {
      for await (const chunk of opened.body as AsyncIterable<Uint8Array>) {
        received += chunk.byteLength;
        failures = 0;
        options.write(decoder.decode(chunk, { stream: true }));
      }
      options.write(decoder.decode());
      return;
    } catch (error) {
      if (failures >= maxRetries) throw error;
      resumeAt = opened.offset + Math.max(0, received - opened.headBytes);
      await delay(RETRY_BASE_MS * 2 ** failures++);
    }
  }
}

function isConnectionError(error: unknown): boolean {
  return isFlotillaError(error) ? error.code === "UNAVAILABLE" : error instanceof TypeError;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Follows (or, without `follow`, prints) the task's stdout or stderr until the task ends. */
export function followTaskLog(
  client: Flotilla,
  id: string,
  stream: "stdout" | "stderr",
  follow: boolean,
  write: (text: string) => void,
): Promise<void> {
  return followText({
    open: async (offset) => {
      const response = await client.openLogs(id, { stream, follow, offset });
      if (response.body === null) throw new Error(`the server sent no ${stream} of task ${id}`);
      return { body: response.body, offset: offset ?? 0, headBytes: 0 };
    },
    write,
  });
}
