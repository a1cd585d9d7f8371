import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmod,
  mkdir,
  readFile,
  stat,
  symlink,
  truncate,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { DEFAULT_ARCHIVE_LIMITS, unpackArchive } from "../../src/lib/archive.js";
import { filesTarStream, writeFilesTar, type TarSink } from "../../src/lib/tar-files.js";
import { collect, withTempDir } from "./archive-fixtures.js";

const LONG_PATH = `${"deep/".repeat(30)}name-longer-than-a-ustar-field.txt`;

// Files that cross every boundary: empty, sub-block, one buffer and more, many small ones
// sharing a buffer, a path only a pax header can hold, an executable.
async function writeTree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>([
    ["empty.txt", Buffer.alloc(0)],
    ["small.txt", Buffer.from("hello\n")],
    ["exact-block.bin", randomBytes(512)],
    ["big.bin", randomBytes(2 * 1024 * 1024 + 123)],
    ["run.sh", Buffer.from("#!/bin/sh\necho hi\n")],
    [LONG_PATH, Buffer.from("long\n")],
  ]);
  for (let i = 0; i < 300; i++) files.set(`many/f${i}.txt`, randomBytes(i * 7));
  for (const [path, content] of files) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await chmod(join(dir, "run.sh"), 0o755);
  await utimes(join(dir, "small.txt"), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
  return files;
}

async function assertSameFiles(dir: string, files: Map<string, Buffer>): Promise<void> {
  for (const [path, content] of files) {
    assert.deepEqual(await readFile(join(dir, path)), content, path);
  }
}

// A sink that keeps copies (as a socket would send them) and records the chunk sizes.
function recordingSink(): TarSink & { chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  return {
    chunks,
    write: (chunk) => {
      chunks.push(Buffer.from(chunk));
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe("writeFilesTar", () => {
  it("writes an archive that unpackArchive and GNU tar both read back byte for byte", async () => {
    await withTempDir(async (dir) => {
      const source = join(dir, "source");
      const files = await writeTree(source);
      const sink = recordingSink();
      await writeFilesTar(source, [...files.keys()], sink);
      const archive = Buffer.concat(sink.chunks);
      assert.equal(archive.length % 512, 0);
      assert.ok(sink.chunks.length < 20, `small files share writes (${sink.chunks.length} writes)`);

      const ours = join(dir, "ours");
      await unpackArchive(Readable.from([archive]), ours, DEFAULT_ARCHIVE_LIMITS);
      await assertSameFiles(ours, files);
      assert.equal((await stat(join(ours, "run.sh"))).mode & 0o111, 0o111, "execute bits kept");
      assert.equal((await stat(join(ours, "small.txt"))).mtimeMs, 1_600_000_000_000);

      const gnu = join(dir, "gnu");
      await mkdir(gnu);
      const extracted = spawnSync("tar", ["-x", "-C", gnu], { input: archive });
      assert.equal(extracted.status, 0, extracted.stderr.toString());
      await assertSameFiles(gnu, files);
    });
  });

  it("fails on a path that is not a regular file, and on a file that shrinks", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "real.txt"), "x");
      await symlink("real.txt", join(dir, "link.txt"));
      await mkdir(join(dir, "sub"));
      await assert.rejects(writeFilesTar(dir, ["link.txt"], recordingSink()), /ELOOP/);
      await assert.rejects(writeFilesTar(dir, ["sub"], recordingSink()), /not a regular file/);
      await assert.rejects(writeFilesTar(dir, ["gone.txt"], recordingSink()), /ENOENT/);

      // The size is taken when the file is opened; a file cut shorter while it is read fails.
      await writeFile(join(dir, "big.bin"), randomBytes(3 * 1024 * 1024));
      let cut = false;
      const cutting: TarSink = {
        write: async () => {
          if (!cut) await truncate(join(dir, "big.bin"), 1024);
          cut = true;
        },
      };
      await assert.rejects(
        writeFilesTar(dir, ["big.bin"], cutting),
        /shrank while it was being sent/,
      );
    });
  });

  it("stops at the first sink failure and at an abort, without reading the rest", async () => {
    await withTempDir(async (dir) => {
      const paths: string[] = [];
      for (let i = 0; i < 20; i++) {
        paths.push(`f${i}.bin`);
        await writeFile(join(dir, `f${i}.bin`), randomBytes(1024 * 1024));
      }
      let writes = 0;
      const failing: TarSink = {
        write: () => {
          writes += 1;
          return Promise.reject(new Error("connection reset"));
        },
      };
      await assert.rejects(writeFilesTar(dir, paths, failing), /connection reset/);
      assert.ok(writes <= 5, `stopped after the failure (${writes} writes)`);

      const controller = new AbortController();
      let aborted = 0;
      const aborting: TarSink = {
        write: () => {
          aborted += 1;
          controller.abort(new Error("client went away"));
          return new Promise(() => undefined); // the socket never takes it
        },
      };
      await assert.rejects(
        writeFilesTar(dir, paths, aborting, controller.signal),
        /client went away/,
      );
      assert.ok(aborted <= 5, `stopped at the abort (${aborted} writes)`);
    });
  });
});

describe("filesTarStream", () => {
  it("is the same archive as a stream of copies, and stops when destroyed", async () => {
    await withTempDir(async (dir) => {
      const files = await writeTree(dir);
      const sink = recordingSink();
      await writeFilesTar(dir, [...files.keys()], sink);
      assert.deepEqual(
        await collect(filesTarStream(dir, [...files.keys()])),
        Buffer.concat(sink.chunks),
      );

      const stream = filesTarStream(dir, [...files.keys()]);
      const first = await new Promise<Buffer>((resolve) => stream.once("data", resolve));
      assert.ok(first.length > 0);
      stream.destroy();
      await new Promise((resolve) => stream.once("close", resolve));
    });
  });
});
