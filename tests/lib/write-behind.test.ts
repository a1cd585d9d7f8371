import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createWriteBehind } from "../../src/lib/write-behind.js";
import { withTempDir } from "./archive-fixtures.js";

// Feeds `content` to a file in chunks of `size`, waiting for room when told to.
async function feed(
  files: ReturnType<typeof createWriteBehind>,
  path: string,
  content: Buffer,
  size: number,
  mtime?: Date,
): Promise<void> {
  await files.room();
  const file = files.create(path, 0o640);
  for (let at = 0; at < content.length; at += size) {
    if (!file.write(content.subarray(at, at + size))) await files.room();
  }
  file.finish(mtime);
}

describe("createWriteBehind", () => {
  it("writes every file whole, in order, with its mode and mtime, through a few buffers", async () => {
    await withTempDir(async (dir) => {
      const files = createWriteBehind({ maxBuffers: 2, maxFiles: 3 });
      const contents = new Map<string, Buffer>();
      for (let i = 0; i < 40; i++) contents.set(join(dir, `f${i}`), randomBytes(i * 40_000));
      const mtime = new Date(1_500_000_000_000);
      for (const [path, content] of contents) await feed(files, path, content, 65_536 - 7, mtime);
      await files.drain();
      for (const [path, content] of contents) {
        assert.deepEqual(await readFile(path), content);
        const info = await stat(path);
        assert.equal(info.mtimeMs, mtime.getTime());
        assert.equal(info.mode & 0o777, 0o640 & ~process.umask());
      }
    });
  });

  it("never writes over an existing path: asks onExists, then creates; onCreated only for its own files", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "old.txt"), "old content that is longer");
      const files = createWriteBehind();
      const created: string[] = [];
      let asked = 0;
      const file = files.create(join(dir, "old.txt"), 0o644, {
        onExists: async () => {
          asked += 1;
          await writeFile(join(dir, "moved-aside"), await readFile(join(dir, "old.txt")));
          await unlink(join(dir, "old.txt"));
        },
        onCreated: () => created.push("old.txt"),
      });
      file.write(Buffer.from("new"));
      file.finish();
      await files.drain();
      assert.equal(asked, 1);
      assert.deepEqual(created, ["old.txt"]);
      assert.equal(await readFile(join(dir, "old.txt"), "utf8"), "new");

      // onExists throwing (a directory there) fails the whole writer, and nothing is created.
      await mkdir(join(dir, "a-dir"));
      const refusing = createWriteBehind();
      const refused = refusing.create(join(dir, "a-dir"), 0o644, {
        onExists: () => Promise.reject(new Error("a-dir is a directory")),
        onCreated: () => created.push("a-dir"),
      });
      refused.write(Buffer.from("x"));
      refused.finish();
      await assert.rejects(refusing.drain(), /a-dir is a directory/);
      await assert.rejects(refusing.room(), /a-dir is a directory/);
      assert.deepEqual(created, ["old.txt"]);
      assert.ok((await stat(join(dir, "a-dir"))).isDirectory());
    });
  });

  it("reports an open failure through room and drain, after every file is closed", async () => {
    await withTempDir(async (dir) => {
      const files = createWriteBehind();
      await feed(files, join(dir, "ok.bin"), randomBytes(100_000), 10_000);
      const bad = files.create(join(dir, "missing-dir", "x.bin"), 0o644);
      assert.equal(bad.write(Buffer.alloc(10)), true, "queued while the open is in flight");
      bad.finish();
      await assert.rejects(files.drain(), { code: "ENOENT" });
      await assert.rejects(files.room(), { code: "ENOENT" });
      assert.equal((await stat(join(dir, "ok.bin"))).size, 100_000);
    });
  });
});
