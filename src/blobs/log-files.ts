// Log files and per-key serialisation for the blob store: appends in call order through cached
// append handles, and reads from a byte offset to the current end.
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";

// Runners ship logs of many tasks at once; more open logs than this are closed oldest first.
const MAX_OPEN_LOGS = 64;
const READ_CHUNK_BYTES = 64 * 1024;

export interface SerialQueues {
  /** Runs `task` after every earlier task of the same key has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

export function createSerialQueues(): SerialQueues {
  const tails = new Map<string, Promise<void>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const result = (tails.get(key) ?? Promise.resolve()).then(task);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}

// Append handles kept open across calls: a runner ships many small chunks per second per task.
// Every operation on one log file runs on that file's serial queue, closes included.
export function createLogHandles(serial: SerialQueues) {
  const handles = new Map<string, FileHandle>();

  const closeQueued = (path: string): Promise<void> =>
    serial.run(`log:${path}`, async () => {
      const handle = handles.get(path);
      handles.delete(path);
      await handle?.close();
    });

  async function handleFor(path: string): Promise<FileHandle> {
    const existing = handles.get(path);
    if (existing !== undefined) {
      handles.delete(path);
      handles.set(path, existing);
      return existing;
    }
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, "a");
    handles.set(path, handle);
    if (handles.size > MAX_OPEN_LOGS) {
      const oldest = handles.keys().next().value;
      if (oldest !== undefined && oldest !== path) void closeQueued(oldest).catch(() => undefined);
    }
    return handle;
  }

  return {
    append: (path: string, chunk: Uint8Array): Promise<void> =>
      serial.run(`log:${path}`, async () => {
        await (await handleFor(path)).appendFile(chunk);
      }),
    close: closeQueued,
    closeAll: async (): Promise<void> => {
      await Promise.all([...handles.keys()].map(closeQueued));
    },
  };
}

/** From `offset` to the end as it is while reading; nothing when the file does not exist. */
export async function* readFrom(path: string, offset: number): AsyncGenerator<Buffer> {
  const handle = await open(path, "r").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  });
  if (handle === undefined) return;
  try {
    let position = offset;
    for (;;) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
