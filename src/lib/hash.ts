// SHA-256 of files and streams, and a hashed listing of a directory tree.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

export interface HashedFileInfo {
  /** Relative to the listed directory, "/"-separated. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly mtimeMs: number;
}

/** Hex SHA-256 of a file's content, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  return (await hashFile(path)).sha256;
}

// Hashing is I/O bound; a few files at once keeps the disk busy without opening thousands.
const HASH_CONCURRENCY = 8;

/**
 * Every regular file under `dir` (symlinks are not followed or listed), with size, sha256 and
 * mtime, sorted by path. `exclude` is asked about files and directories; an excluded directory
 * is not entered.
 */
export async function listFilesWithHashes(
  dir: string,
  options: { exclude?: (relPath: string) => boolean } = {},
): Promise<HashedFileInfo[]> {
  const paths = await listRegularFiles(dir, "", options.exclude ?? (() => false));
  paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const results: HashedFileInfo[] = new Array<HashedFileInfo>(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      const path = paths[index] as string;
      const absolute = join(dir, path);
      const info = await stat(absolute);
      // Size from the bytes hashed, so size and sha256 always describe the same content.
      const { sha256, bytes } = await hashFile(absolute);
      results[index] = { path, size: bytes, sha256, mtimeMs: info.mtimeMs };
    }
  };
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, paths.length) }, worker));
  return results;
}

async function listRegularFiles(
  root: string,
  prefix: string,
  exclude: (relPath: string) => boolean,
): Promise<string[]> {
  const entries = await readdir(join(root, prefix), { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (exclude(rel)) continue;
    if (entry.isDirectory()) found.push(...(await listRegularFiles(root, rel, exclude)));
    else if (entry.isFile()) found.push(rel);
  }
  return found;
}

async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest("hex"), bytes };
}
