// The runner's half of `tail -f`: answer "what was appended to this file past `offset`" as soon
// as there is something, or after `waitMs` with nothing. The server chains these requests into
// one HTTP stream, so the client never polls. fs.watch (inotify) wakes us at once; a short stat
// fallback covers file systems where it stays silent (NFS, some container mounts).
import { watch, type FSWatcher } from "node:fs";
import { open, stat } from "node:fs/promises";
import { InvalidInputError } from "../domain/errors.js";

/** One answer: `text` holds the bytes [offset, nextOffset) of the file. */
export interface FileChunk {
  readonly path: string;
  readonly offset: number;
  readonly nextOffset: number;
  readonly text: string;
  /** The file got shorter than `offset` (rewritten): `text` starts again from byte 0. */
  readonly truncated: boolean;
}

export const MAX_FOLLOW_WAIT_MS = 30_000;
const MAX_CHUNK_BYTES = 1024 * 1024;
const STAT_FALLBACK_MS = 250;

/**
 * Reads what `file` holds past `offset`, first waiting up to `waitMs` for it to change size.
 * A file that does not exist (yet, or any more) reads as empty.
 */
export async function readAppended(
  file: string,
  shownPath: string,
  offset: number,
  waitMs: number,
): Promise<FileChunk> {
  let size = await sizeOf(file, shownPath);
  if (size === offset && waitMs > 0) size = await waitForSizeChange(file, offset, waitMs);
  const truncated = size !== undefined && size < offset;
  const from = truncated ? 0 : offset;
  if (size === undefined || size <= from) {
    return { path: shownPath, offset: from, nextOffset: from, text: "", truncated };
  }
  const bytes = await readRange(file, from, Math.min(size, from + MAX_CHUNK_BYTES));
  if (bytes.includes(0)) throw new InvalidInputError(`${shownPath} is not a text file`);
  // Never split a UTF-8 character between two answers; the rest comes with the next one.
  const usable = completeUtf8Length(bytes) || bytes.length;
  return {
    path: shownPath,
    offset: from,
    nextOffset: from + usable,
    text: bytes.subarray(0, usable).toString("utf8"),
    truncated,
  };
}

async function sizeOf(file: string, shownPath: string): Promise<number | undefined> {
  const info = await stat(file).catch(() => undefined);
  if (info !== undefined && !info.isFile()) {
    throw new InvalidInputError(`${shownPath} is not a text file (it is a directory or device)`);
  }
  return info?.size;
}

/** Resolves with the file's size once it differs from `offset`, or after `waitMs`. */
function waitForSizeChange(
  file: string,
  offset: number,
  waitMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let watcher: FSWatcher | undefined;
    const finish = (size: number | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(fallback);
      watcher?.close();
      resolve(size);
    };
    const check = (final: boolean): void => {
      stat(file).then(
        (info) => {
          if (final || info.size !== offset) finish(info.size);
        },
        () => finish(undefined),
      );
    };
    try {
      watcher = watch(file, { persistent: false }, () => check(false));
      watcher.on("error", () => undefined); // the fallback keeps working
    } catch {
      // cannot watch (removed meanwhile, or no inotify): the fallback alone answers
    }
    const fallback = setInterval(() => check(false), STAT_FALLBACK_MS);
    const timer = setTimeout(() => check(true), waitMs);
    check(false); // after the watch is set: growth between the first stat and now is not missed
  });
}

async function readRange(file: string, from: number, to: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(to - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Length of `bytes` without a trailing, incomplete UTF-8 sequence. */
export function completeUtf8Length(bytes: Buffer): number {
  let index = bytes.length - 1;
  let continuation = 0;
  while (index >= 0 && continuation < 3 && ((bytes[index] ?? 0) & 0xc0) === 0x80) {
    index -= 1;
    continuation += 1;
  }
  if (index < 0) return bytes.length;
  const lead = bytes[index] ?? 0;
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return needed > continuation + 1 ? index : bytes.length;
}
