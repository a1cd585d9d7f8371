import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import {
  DEFAULT_ARCHIVE_LIMITS,
  packDirectory,
  scanArchive,
  unpackArchive,
  type ArchiveLimits,
} from "../../src/lib/archive.js";
import { listFilesWithHashes } from "../../src/lib/hash.js";
import {
  assertRejected,
  collect,
  endlessArchive,
  entryPaths,
  fileEntry,
  makeTree,
  rawEntry,
  tarOf,
  withTempDir,
} from "./archive-fixtures.js";

describe("packDirectory and unpackArchive round trip", () => {
  it("hashes each file while writing it, as a second read would", async () => {
    await withTempDir(async (dir) => {
      const source = join(dir, "source");
      await makeTree(source);
      const archive = await collect(packDirectory(source));
      const hashed = new Map<string, string>();
      await unpackArchive(Readable.from([archive]), join(dir, "dest"), DEFAULT_ARCHIVE_LIMITS, {
        onFileHashed: (path, sha256) => hashed.set(path, sha256),
      });
      const expected = await listFilesWithHashes(join(dir, "dest"));
      assert.equal(expected.length, 4);
      assert.deepEqual(new Map(expected.map((file) => [file.path, file.sha256])), hashed);
    });
  });

  for (const gzip of [false, true]) {
    it(`restores a nested directory${gzip ? " from a gzip stream" : ""}`, async () => {
      await withTempDir(async (dir) => {
        const source = join(dir, "source");
        await makeTree(source);
        const archive = await collect(packDirectory(source, { gzip }));
        assert.equal(archive[0] === 0x1f && archive[1] === 0x8b, gzip);

        const dest = join(dir, "dest");
        const totals = await unpackArchive(Readable.from([archive]), dest, DEFAULT_ARCHIVE_LIMITS);

        assert.deepEqual(totals, { files: 4, bytes: 6 + 5 + 200_000 + 18 });
        const strip = (files: Awaited<ReturnType<typeof listFilesWithHashes>>) =>
          files.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
        assert.deepEqual(
          strip(await listFilesWithHashes(dest)),
          strip(await listFilesWithHashes(source)),
        );
        assert.equal(await readlink(join(dest, "link-inside")), "sub/b.txt");
        await assert.rejects(lstat(join(dest, "link-absolute")), { code: "ENOENT" });
        await assert.rejects(lstat(join(dest, "link-up")), { code: "ENOENT" });
        assert.ok((await stat(join(dest, "empty"))).isDirectory());
        assert.equal((await stat(join(dest, "run.sh"))).mode & 0o111, 0o111);
        const mtime = (await stat(join(source, "a.txt"))).mtime.getTime();
        assert.equal(
          Math.floor((await stat(join(dest, "a.txt"))).mtimeMs / 1000),
          Math.floor(mtime / 1000),
        );
      });
    });
  }

  it("stores relative paths without a leading ./ and hard-linked files as plain files", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, "sub"));
      await writeFile(join(dir, "sub", "one.txt"), "same inode");
      await link(join(dir, "sub", "one.txt"), join(dir, "two.txt"));
      const archive = await collect(packDirectory(dir));
      assert.deepEqual(await entryPaths(archive), [
        "Directory:sub/",
        "File:sub/one.txt",
        "File:two.txt",
      ]);
    });
  });

  it("packs only the chosen files", async () => {
    await withTempDir(async (dir) => {
      const source = join(dir, "source");
      await makeTree(source);
      const archive = await collect(packDirectory(source, { files: ["a.txt", "sub/deep/c.bin"] }));
      const dest = join(dir, "dest");
      const totals = await unpackArchive(Readable.from([archive]), dest, DEFAULT_ARCHIVE_LIMITS);
      assert.deepEqual(totals, { files: 2, bytes: 6 + 200_000 });
      assert.deepEqual(
        (await listFilesWithHashes(dest)).map((file) => file.path),
        ["a.txt", "sub/deep/c.bin"],
      );
    });
  });

  it("round-trips an empty directory and an empty file list as an empty archive", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, "empty"));
      for (const archive of [
        await collect(packDirectory(join(dir, "empty"), { gzip: true })),
        await collect(packDirectory(dir, { files: [] })),
      ]) {
        const dest = join(dir, "dest");
        assert.deepEqual(
          await unpackArchive(Readable.from([archive]), dest, DEFAULT_ARCHIVE_LIMITS),
          {
            files: 0,
            bytes: 0,
          },
        );
        assert.deepEqual(await readdir(dest), []);
        await rm(dest, { recursive: true });
      }
    });
  });

  it("gives a path given twice its last entry, even while the first file is still being opened", async () => {
    // Files are opened in the background; an entry for the same path, or under it, used to
    // look (lstat) before that open had created it, then collide with it (EEXIST on symlink).
    await withTempDir(async (dir) => {
      const archive = tarOf(
        fileEntry("a.txt", "first"),
        fileEntry("a.txt", "second"),
        fileEntry("c.txt", "sea"),
        rawEntry({ path: "c.txt", type: "SymbolicLink", linkpath: "a.txt" }),
        rawEntry({ path: "d", type: "SymbolicLink", linkpath: "a.txt" }),
        fileEntry("d", "dee"),
      );
      for (let round = 0; round < 20; round += 1) {
        const dests = Array.from({ length: 20 }, (_, i) => join(dir, `r${round}-${i}`));
        await Promise.all(
          dests.map((dest) =>
            unpackArchive(Readable.from([archive]), dest, DEFAULT_ARCHIVE_LIMITS),
          ),
        );
        for (const dest of dests) {
          assert.equal(await readFile(join(dest, "a.txt"), "utf8"), "second");
          assert.equal(await readlink(join(dest, "c.txt")), "a.txt");
          assert.equal((await lstat(join(dest, "d"))).isFile(), true);
          assert.equal(await readFile(join(dest, "d"), "utf8"), "dee");
        }
        await rm(join(dir), { recursive: true, force: true });
        await mkdir(dir);
      }
    });
  });

  it("refuses to pack a chosen file outside the directory", () => {
    assert.throws(() => packDirectory("/tmp", { files: ["../etc/passwd"] }), /\.\./);
  });
});

describe("unpackArchive rejects hostile archives and leaves nothing behind", () => {
  const cases: Array<{ name: string; archive: Buffer; reason: string; entry: string }> = [
    {
      name: "an absolute path",
      archive: tarOf(fileEntry("ok.txt"), fileEntry("/tmp/evil.txt")),
      reason: "absolute-path",
      entry: "/tmp/evil.txt",
    },
    {
      name: "a .. segment",
      archive: tarOf(fileEntry("ok.txt"), fileEntry("../x")),
      reason: "parent-path",
      entry: "../x",
    },
    {
      name: "a .. segment in the middle",
      archive: tarOf(fileEntry("a/../../x")),
      reason: "parent-path",
      entry: "a/../../x",
    },
    {
      name: "a symlink to /etc",
      archive: tarOf(
        fileEntry("ok.txt"),
        rawEntry({ path: "etc", type: "SymbolicLink", linkpath: "/etc" }),
      ),
      reason: "link-outside",
      entry: "etc",
    },
    {
      name: "a relative symlink that climbs out",
      archive: tarOf(rawEntry({ path: "sub/up", type: "SymbolicLink", linkpath: "../../x" })),
      reason: "link-outside",
      entry: "sub/up",
    },
    {
      name: "a symlink with .. after a name",
      archive: tarOf(rawEntry({ path: "l", type: "SymbolicLink", linkpath: "a/../b" })),
      reason: "link-outside",
      entry: "l",
    },
    {
      name: "a hard link",
      archive: tarOf(
        fileEntry("ok.txt"),
        rawEntry({ path: "hard", type: "Link", linkpath: "ok.txt" }),
      ),
      reason: "hard-link",
      entry: "hard",
    },
    {
      name: "a character device",
      archive: tarOf(fileEntry("ok.txt"), rawEntry({ path: "null", type: "CharacterDevice" })),
      reason: "special-file",
      entry: "null",
    },
    {
      name: "a block device",
      archive: tarOf(rawEntry({ path: "sda", type: "BlockDevice" })),
      reason: "special-file",
      entry: "sda",
    },
    {
      name: "a FIFO",
      archive: tarOf(fileEntry("ok.txt"), rawEntry({ path: "pipe", type: "FIFO" })),
      reason: "special-file",
      entry: "pipe",
    },
    {
      name: "a file under a symlink of the archive",
      archive: tarOf(
        rawEntry({ path: "d", type: "SymbolicLink", linkpath: "sub" }),
        fileEntry("d/x"),
      ),
      reason: "path-conflict",
      entry: "d/x",
    },
    {
      name: "a file under a symlink, spelled with ./ and //",
      archive: tarOf(
        rawEntry({ path: "d", type: "SymbolicLink", linkpath: "sub" }),
        fileEntry("./d/.//x"),
      ),
      reason: "path-conflict",
      entry: "d/x",
    },
    {
      name: "an unsupported entry type",
      archive: tarOf(rawEntry({ path: "sparse", type: "SparseFile" })),
      reason: "unsupported-entry",
      entry: "sparse",
    },
  ];

  for (const { name, archive, reason, entry } of cases) {
    it(`rejects ${name}, naming the entry`, async () => {
      await withTempDir(async (dir) => {
        const dest = join(dir, "dest");
        await assertRejected(
          unpackArchive(Readable.from([archive]), dest, DEFAULT_ARCHIVE_LIMITS),
          reason,
          entry,
        );
        await assert.rejects(stat(dest), { code: "ENOENT" });
        await assertRejected(
          scanArchive(Readable.from([gzipSync(archive)]), DEFAULT_ARCHIVE_LIMITS),
          reason,
          entry,
        );
      });
    });
  }

  it("rejects more entries than maxFiles, naming the first one over", async () => {
    await withTempDir(async (dir) => {
      const archive = tarOf(...["1", "2", "3", "4", "5"].map((name) => fileEntry(`f${name}`)));
      const dest = join(dir, "dest");
      await assertRejected(
        unpackArchive(Readable.from([archive]), dest, { maxBytes: 1e9, maxFiles: 3 }),
        "too-many-files",
        "f4",
      );
      await assert.rejects(stat(dest), { code: "ENOENT" });
    });
  });

  it("rejects more bytes than maxBytes, naming the entry that crosses the limit", async () => {
    await withTempDir(async (dir) => {
      const big = "x".repeat(600);
      const archive = tarOf(fileEntry("first", big), fileEntry("second", big), fileEntry("third"));
      const dest = join(dir, "dest");
      const limits: ArchiveLimits = { maxBytes: 1000, maxFiles: 100 };
      await assertRejected(
        unpackArchive(Readable.from([archive]), dest, limits),
        "too-large",
        "second",
      );
      await assert.rejects(stat(dest), { code: "ENOENT" });
    });
  });

  it("removes the directory it made only once no file is still being opened", async () => {
    // A path given twice is reopened in the background (open: EEXIST, lstat, unlink, open) while
    // the next entry crosses the limit. Removing the new directory before that reopen is done
    // raced it: the file could appear after the removal had listed the directory (ENOTEMPTY).
    await withTempDir(async (dir) => {
      const limits: ArchiveLimits = { maxBytes: 1e9, maxFiles: 2 };
      const archive = tarOf(fileEntry("a", "1"), fileEntry("a", "2"), fileEntry("b", "3"));
      for (let round = 0; round < 20; round += 1) {
        const dests = Array.from({ length: 20 }, (_, i) => join(dir, `dest-${i}`));
        const results = await Promise.allSettled(
          dests.map((dest) => unpackArchive(Readable.from([archive]), dest, limits)),
        );
        for (const result of results) {
          assert.equal(result.status, "rejected");
          const reason = (result.reason as { reason?: unknown }).reason;
          assert.equal(reason, "too-many-files", String(result.reason));
        }
        assert.deepEqual(await readdir(dir), []);
      }
    });
  });

  it("stops reading an endless archive as soon as a limit is crossed", async () => {
    await withTempDir(async (dir) => {
      const files = endlessArchive();
      const limits: ArchiveLimits = { maxBytes: 1e12, maxFiles: 50 };
      await assertRejected(
        unpackArchive(files.source, join(dir, "dest"), limits),
        "too-many-files",
        "file-51",
      );
      assert.ok(files.served() < 200, `read ${files.served()} entries`);
      files.source.destroy();

      const bytes = endlessArchive();
      await assertRejected(
        scanArchive(bytes.source, { maxBytes: 100, maxFiles: 1e6 }),
        "too-large",
        "file-11",
      );
      assert.ok(bytes.served() < 200, `read ${bytes.served()} entries`);
      bytes.source.destroy();
    });
  });

  it("rejects garbage and truncated archives as corrupt", async () => {
    await withTempDir(async (dir) => {
      const garbage = randomBytes(4096);
      const whole = tarOf(fileEntry("a.txt", "y".repeat(2000)));
      for (const bytes of [garbage, whole.subarray(0, 1200), Buffer.alloc(0)]) {
        await assert.rejects(
          unpackArchive(Readable.from([bytes]), join(dir, "dest"), DEFAULT_ARCHIVE_LIMITS),
          {
            name: "ArchiveRejectedError",
            reason: "corrupt",
          },
        );
        await assert.rejects(stat(join(dir, "dest")), { code: "ENOENT" });
      }
    });
  });

  it("in an existing directory, removes only what it wrote and never writes through its symlinks", async () => {
    await withTempDir(async (dir) => {
      const dest = join(dir, "dest");
      const outside = join(dir, "outside");
      await mkdir(dest);
      await mkdir(outside);
      await writeFile(join(dest, "keep.txt"), "mine");
      await symlink(outside, join(dest, "escape"));

      const hostile = tarOf(fileEntry("new/a.txt"), fileEntry("b.txt"), fileEntry("../x"));
      await assertRejected(
        unpackArchive(Readable.from([hostile]), dest, DEFAULT_ARCHIVE_LIMITS),
        "parent-path",
        "../x",
      );
      assert.deepEqual((await readdir(dest)).sort(), ["escape", "keep.txt"]);

      const through = tarOf(fileEntry("escape/x.txt"));
      await assertRejected(
        unpackArchive(Readable.from([through]), dest, DEFAULT_ARCHIVE_LIMITS),
        "path-conflict",
        "escape/x.txt",
      );
      assert.deepEqual(await readdir(outside), []);
      assert.equal(await readFile(join(dest, "keep.txt"), "utf8"), "mine");
    });
  });
});

describe("scanArchive", () => {
  it("counts files and bytes of a valid archive and writes nothing", async () => {
    await withTempDir(async (dir) => {
      const source = join(dir, "source");
      await makeTree(source);
      const totals = await scanArchive(
        packDirectory(source, { gzip: true }),
        DEFAULT_ARCHIVE_LIMITS,
      );
      assert.deepEqual(totals, { files: 4, bytes: 6 + 5 + 200_000 + 18 });
      assert.deepEqual((await readdir(dir)).sort(), ["source"]);
    });
  });
});
