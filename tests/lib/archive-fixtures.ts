// Helpers for the archive tests: temp dirs, raw tar entries that tar itself would never write,
// an endless archive, and an assertion on ArchiveRejectedError.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Header, Parser, type ReadEntry } from "tar";
import { ArchiveRejectedError } from "../../src/lib/archive.js";

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-archive-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function entryPaths(archive: Buffer): Promise<string[]> {
  const paths: string[] = [];
  const parser = new Parser();
  parser.on("entry", (entry: ReadEntry) => {
    paths.push(`${entry.type}:${entry.path}`);
    entry.resume();
  });
  const done = new Promise((resolve) => parser.once("end", resolve));
  parser.end(archive);
  await done;
  return paths.sort();
}

// One raw tar entry (header block + padded body), for archives tar itself would never write.
export function rawEntry(fields: {
  path: string;
  type: string;
  linkpath?: string;
  body?: string;
}): Buffer {
  const body = Buffer.from(fields.body ?? "");
  const header = new Header({
    path: fields.path,
    type: fields.type as never,
    linkpath: fields.linkpath,
    size: body.length,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: new Date("2024-01-02T03:04:05Z"),
  });
  const block = Buffer.alloc(512);
  header.encode(block, 0);
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([block, padded]);
}

export const tarOf = (...entries: Buffer[]): Buffer =>
  Buffer.concat([...entries, Buffer.alloc(1024)]);
export const fileEntry = (path: string, body = "data"): Buffer =>
  rawEntry({ path, type: "File", body });

// An archive that never ends: only a limit can stop its reader.
export function endlessArchive(): { source: Readable; served: () => number } {
  let served = 0;
  async function* generate(): AsyncGenerator<Buffer> {
    for (;;) {
      served += 1;
      yield fileEntry(`file-${served}`, "0123456789");
      await Promise.resolve();
    }
  }
  return { source: Readable.from(generate(), { objectMode: false }), served: () => served };
}

export async function makeTree(dir: string): Promise<void> {
  await mkdir(join(dir, "sub", "deep"), { recursive: true });
  await mkdir(join(dir, "empty"));
  await writeFile(join(dir, "a.txt"), "alpha\n");
  await writeFile(join(dir, "sub", "b.txt"), "beta\n");
  await writeFile(join(dir, "sub", "deep", "c.bin"), randomBytes(200_000));
  await writeFile(join(dir, "run.sh"), "#!/bin/sh\necho hi\n");
  await chmod(join(dir, "run.sh"), 0o755);
  await symlink("sub/b.txt", join(dir, "link-inside"));
  await symlink("/etc/passwd", join(dir, "link-absolute"));
  await symlink("../outside", join(dir, "link-up"));
}

export async function assertRejected(
  promise: Promise<unknown>,
  reason: string,
  entry: string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof ArchiveRejectedError,
      `not an ArchiveRejectedError: ${String(error)}`,
    );
    assert.equal(error.reason, reason);
    assert.ok(
      error.message.includes(`"${entry}"`),
      `message does not name ${entry}: ${error.message}`,
    );
    return true;
  });
}
