// Ships one output stream of a task to the server, in order. Bytes that arrive within
// `batchDelayMs` go in one request, so a chatty simulator costs a few requests a second, and a
// written line still reaches the server within ~200 ms. One request at a time keeps the order.
import { FlotillaError } from "../domain/errors.js";
import { retry } from "./backoff.js";

export interface LogShipperOptions {
  /** Sends one batch; rejects with the server's error. */
  readonly send: (chunk: Buffer) => Promise<void>;
  readonly batchDelayMs?: number;
  /** Bytes held while the server is unreachable; beyond this the oldest output is dropped. */
  readonly maxPendingBytes?: number;
  /** The server says the task is no longer ours: stop sending. */
  readonly onLeaseLost?: (error: FlotillaError) => void;
  readonly log?: (line: string) => void;
}

export interface LogShipper {
  write(chunk: Buffer): void;
  /** Sends what is left and resolves once the last batch is answered (or given up). */
  close(): Promise<void>;
}

export function createLogShipper(options: LogShipperOptions): LogShipper {
  const batchDelayMs = options.batchDelayMs ?? 75;
  const maxPendingBytes = options.maxPendingBytes ?? 16 * 1024 * 1024;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  let stopped = false;

  const sendBatch = async (batch: Buffer): Promise<void> => {
    try {
      // Tries over about a minute (a server restart); longer outages lose this batch rather than
      // stall the task.
      await retry(() => options.send(batch), { attempts: 16, initialMs: 200, maxMs: 5_000 });
    } catch (error) {
      if (error instanceof FlotillaError && error.code === "LEASE_LOST") {
        stopped = true;
        options.onLeaseLost?.(error);
      } else {
        options.log?.(`dropped ${batch.byteLength} bytes of task output: ${String(error)}`);
      }
    }
  };

  const pump = async (): Promise<void> => {
    // Whatever arrived while a batch was in flight has waited long enough: send it at once.
    while (pending.length > 0 && !stopped) {
      const batch = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      await sendBatch(batch);
    }
  };

  const schedule = (): void => {
    if (timer === undefined && pumping === undefined && pending.length > 0 && !stopped) {
      timer = setTimeout(startPump, batchDelayMs);
    }
  };

  function startPump(): void {
    timer = undefined;
    pumping ??= pump().finally(() => {
      pumping = undefined;
      // Bytes written between the last send and this line would otherwise wait for the next write.
      schedule();
    });
  }

  return {
    write(chunk) {
      if (stopped || chunk.byteLength === 0) return;
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      while (pendingBytes > maxPendingBytes && pending.length > 1) {
        pendingBytes -= pending.shift()?.byteLength ?? 0;
      }
      schedule();
    },
    async close() {
      while (pumping !== undefined || (pending.length > 0 && !stopped)) {
        if (timer !== undefined) clearTimeout(timer);
        startPump();
        await pumping;
      }
    },
  };
}
