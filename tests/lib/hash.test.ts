import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { listFilesWithHashes, sha256File } from "../../src/lib/hash.js";

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-hash-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("sha256File", () => {
  it("hashes empty, small and multi-chunk files like crypto does", async () => {
    await withTempDir(async (dir) => {
      const contents = [Buffer.alloc(0), Buffer.from("hello\n"), randomBytes(1_000_000)];
      for (const [index, content] of contents.entries()) {
        const path = join(dir, `f${index}`);
        await writeFile(path, content);
        assert.equal(await sha256File(path), sha256(content));
      }
    });
  });
});

describe("listFilesWithHashes", () => {
  it("lists regular files recursively with POSIX paths, sorted, skipping symlinks and dirs", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, "b", "nested"), { recursive: true });
      await mkdir(join(dir, "empty"));
      await writeFile(join(dir, "z.txt"), "zed");
      await writeFile(join(dir, "a.txt"), "ay");
      await writeFile(join(dir, "b", "nested", "deep.dat"), "deep");
      await writeFile(join(dir, "b", "B.txt"), "capital");
      await symlink("a.txt", join(dir, "link.txt"));
      await symlink("b", join(dir, "link-dir"));

      const files = await listFilesWithHashes(dir);

      assert.deepEqual(
        files.map(({ path, size, sha256: hash }) => ({ path, size, sha256: hash })),
        [
          { path: "a.txt", size: 2, sha256: sha256("ay") },
          { path: "b/B.txt", size: 7, sha256: sha256("capital") },
          { path: "b/nested/deep.dat", size: 4, sha256: sha256("deep") },
          { path: "z.txt", size: 3, sha256: sha256("zed") },
        ],
      );
      for (const file of files) {
        assert.equal(file.mtimeMs, (await stat(join(dir, file.path))).mtimeMs);
      }
    });
  });

  it("skips excluded files and does not enter excluded directories", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, "cache"));
      await writeFile(join(dir, "cache", "big.bin"), "skip me");
      await writeFile(join(dir, "keep.txt"), "keep");
      await writeFile(join(dir, "skip.log"), "skip");
      const asked: string[] = [];
      const files = await listFilesWithHashes(dir, {
        exclude: (relPath) => {
          asked.push(relPath);
          return relPath === "cache" || relPath.endsWith(".log");
        },
      });
      assert.deepEqual(
        files.map((file) => file.path),
        ["keep.txt"],
      );
      assert.ok(!asked.includes("cache/big.bin"));
    });
  });

  it("returns an empty list for an empty directory", async () => {
    await withTempDir(async (dir) => {
      assert.deepEqual(await listFilesWithHashes(dir), []);
    });
  });
});
