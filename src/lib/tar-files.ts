// A tar of regular files, written to a sink through a few reused buffers: the headers are tar's
// own (Header and Pax, as Pack writes them with `portable: true`), the contents are read straight
// into the buffer that goes out, and small files share one write. tar's Pack allocates a buffer
// for every read and reaches a socket through two stream layers: serving 1 GiB of outputs that
// way cost the server ~3 s of CPU, most of it garbage collection.
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import { PassThrough, type Readable, type Writable } from "node:stream";
import { Header, Pax } from "tar";

/** Where the archive goes. */
export interface TarSink {
  /** Sends `chunk`; resolves once its memory may be reused, rejects when it cannot be sent. */
  write(chunk: Buffer): Promise<void>;
}

const BLOCK = 512;
const BUFFER_BYTES = 1024 * 1024;
const BUFFERS = 4;

/**
 * Writes a tar of `files` (relative paths of regular files under `dir`) to `sink`, ending with
 * the end-of-archive blocks. A path that is not a regular file (a symlink, a directory, gone)
 * fails the write; so does a file that shrinks while it is read. Resolves when every chunk
 * has been accepted by the sink.
 */
export async function writeFilesTar(
  dir: string,
  files: readonly string[],
  sink: TarSink,
  signal?: AbortSignal,
): Promise<void> {
  const out = createBufferedWriter(sink, signal);
  try {
    for (const path of files) {
      signal?.throwIfAborted();
      const file = await open(join(dir, path), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const stat = await file.stat();
        if (!stat.isFile()) throw new Error(`cannot pack "${path}": it is not a regular file`);
        for (const block of headerBlocks(path, stat.mode, stat.size, stat.mtime))
          await out.append(block);
        await out.appendFile(file, stat.size, path);
      } finally {
        await file.close();
      }
      await out.pad();
    }
    await out.append(Buffer.alloc(2 * BLOCK));
    await out.end();
  } catch (error) {
    out.abandon();
    throw error;
  }
}

/** A sink that writes to a Node stream (an HTTP response, a socket, a file). */
export function streamSink(stream: Writable): TarSink {
  return {
    write: (chunk) =>
      new Promise((resolve, reject) => {
        // The callback runs once the chunk has been handed to the kernel (or failed).
        stream.write(chunk, (error) => (error ? reject(error) : resolve()));
      }),
  };
}

// The header (and, for long or non-ASCII paths, the pax header before it) of one file.
function headerBlocks(path: string, mode: number, size: number, mtime: Date): Buffer[] {
  const header = new Header({ path, mode: mode & 0o7777, size, mtime, type: "File" });
  const needPax = header.encode();
  const block = header.block as Buffer;
  if (!needPax) return [block];
  return [new Pax({ path, size, mtime }).encode(), block];
}

// Fills one buffer at a time and sends it when full; at most BUFFERS are out at once, and a
// buffer is reused only after the sink has let go of it.
function createBufferedWriter(sink: TarSink, signal: AbortSignal | undefined) {
  const free: Buffer[] = [];
  const waiting: { resolve: (buffer: Buffer) => void; reject: (error: Error) => void }[] = [];
  const sent = new Set<Promise<void>>();
  let allocated = 0;
  let failure: Error | undefined;
  let current: Buffer | undefined;
  let used = 0;
  let total = 0;

  const fail = (error: unknown): void => {
    failure ??= error instanceof Error ? error : new Error(String(error));
    for (const waiter of waiting.splice(0)) waiter.reject(failure);
  };
  const onAbort = (): void => fail(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  const giveBack = (buffer: Buffer): void => {
    const next = waiting.shift();
    if (next === undefined) free.push(buffer);
    else next.resolve(buffer);
  };

  function take(): Promise<Buffer> {
    if (failure !== undefined) return Promise.reject(failure);
    const buffer = free.pop();
    if (buffer !== undefined) return Promise.resolve(buffer);
    if (allocated < BUFFERS) {
      allocated += 1;
      return Promise.resolve(Buffer.allocUnsafe(BUFFER_BYTES));
    }
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  }

  async function room(): Promise<Buffer> {
    if (failure !== undefined) throw failure;
    if (current !== undefined && used < current.length) return current;
    send();
    current = await take();
    used = 0;
    return current;
  }

  function send(): void {
    const buffer = current;
    current = undefined;
    if (buffer === undefined) return;
    if (used === 0) {
      giveBack(buffer);
      return;
    }
    const write = sink.write(buffer.subarray(0, used)).then(
      () => {
        sent.delete(write);
        giveBack(buffer);
      },
      (error: unknown) => {
        sent.delete(write);
        fail(error);
      },
    );
    sent.add(write);
  }

  return {
    async append(bytes: Buffer): Promise<void> {
      let offset = 0;
      while (offset < bytes.length) {
        const buffer = await room();
        const n = bytes.copy(buffer, used, offset);
        used += n;
        offset += n;
      }
      total += bytes.length;
    },

    async appendFile(file: FileHandle, size: number, path: string): Promise<void> {
      let position = 0;
      while (position < size) {
        const buffer = await room();
        const want = Math.min(buffer.length - used, size - position);
        const { bytesRead } = await file.read(buffer, used, want, position);
        if (bytesRead === 0) throw new Error(`"${path}" shrank while it was being sent`);
        used += bytesRead;
        position += bytesRead;
      }
      total += size;
    },

    /** Zeros up to the next block boundary (after a file's contents). */
    async pad(): Promise<void> {
      const padding = (BLOCK - (total % BLOCK)) % BLOCK;
      if (padding > 0) await this.append(Buffer.alloc(padding));
    },

    async end(): Promise<void> {
      send();
      while (sent.size > 0) await Promise.all(sent);
      signal?.removeEventListener("abort", onAbort);
      if (failure !== undefined) throw failure;
    },

    /** After a failure: nothing more is sent; buffers still out are left to the sink. */
    abandon(): void {
      signal?.removeEventListener("abort", onAbort);
      fail(new Error("the archive was abandoned"));
    },
  };
}

/**
 * The same archive as a stream, for consumers that are not a socket (tests, web responses): each
 * chunk is copied out of the reused buffers. Destroying the stream stops the reading.
 */
export function filesTarStream(dir: string, files: readonly string[]): Readable {
  const out = new PassThrough();
  const stop = new AbortController();
  out.once("close", () => stop.abort(new Error("the archive stream was closed")));
  const sink: TarSink = {
    async write(chunk) {
      if (!out.write(Buffer.from(chunk))) await once(out, "drain", { signal: stop.signal });
    },
  };
  writeFilesTar(dir, files, sink, stop.signal).then(
    () => out.end(),
    (error: unknown) => out.destroy(error as Error),
  );
  return out;
}
