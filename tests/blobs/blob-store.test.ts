import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { Header } from "tar";
import { createRecentInputs, openBlobStore, type BlobStore } from "../../src/blobs/blob-store.js";
import { FlotillaError } from "../../src/domain/errors.js";
import { DEFAULT_ARCHIVE_LIMITS, packDirectory, unpackArchive } from "../../src/lib/archive.js";
import { listFilesWithHashes } from "../../src/lib/hash.js";
import { fileEntry, rawEntry, tarOf } from "../lib/archive-fixtures.js";

const TASK = "t00000000000001";
const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

async function withStore(
  fn: (store: BlobStore, dataDir: string, scratch: string) => Promise<void>,
): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "flotilla-blobs-"));
  const dataDir = join(root, "data");
  const store = openBlobStore(dataDir);
  try {
    await fn(store, dataDir, join(root, "scratch"));
  } finally {
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Replaces `dir` with these files (relative path → content). */
async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** A tar.gz of these files, written under `dir`. */
async function archiveOf(dir: string, files: Record<string, string | Buffer>): Promise<Buffer> {
  await writeFiles(dir, files);
  return collect(packDirectory(dir, { gzip: true }));
}

function hostileArchive(path: string): Buffer {
  const block = Buffer.alloc(512);
  new Header({ path, type: "File", size: 0, mode: 0o644, mtime: new Date() }).encode(block, 0);
  return Buffer.concat([block, Buffer.alloc(1024)]);
}

function assertFlotillaError(code: string, pattern?: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof FlotillaError, `not a FlotillaError: ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}

describe("blob store: inputs", () => {
  it("stores an input archive as uploaded and streams it back", async () => {
    await withStore(async (store, dataDir, scratch) => {
      const archive = await archiveOf(scratch, {
        "case.inp": "*HEADING\n",
        "mesh/nodes.txt": "1 0 0\n",
      });
      assert.equal(await store.hasInput(TASK), false);

      const stored = await store.writeInput(TASK, Readable.from([archive]), DEFAULT_ARCHIVE_LIMITS);

      assert.deepEqual(stored, { files: 2, bytes: 15, archiveBytes: archive.length });
      assert.equal(await store.hasInput(TASK), true);
      assert.equal(await store.inputSize(TASK), archive.length);
      assert.deepEqual(await collect(store.openInput(TASK)), archive);
      assert.deepEqual(await readdir(join(dataDir, "tasks", TASK)), ["input.tar.gz"]);
    });
  });

  it("rejects a hostile input with INPUT_REJECTED naming the entry, and keeps nothing", async () => {
    await withStore(async (store, dataDir) => {
      await assert.rejects(
        store.writeInput(
          TASK,
          Readable.from([hostileArchive("../escape.txt")]),
          DEFAULT_ARCHIVE_LIMITS,
        ),
        assertFlotillaError("INPUT_REJECTED", /"\.\.\/escape\.txt".*fix the input directory/),
      );
      assert.equal(await store.hasInput(TASK), false);
      assert.deepEqual(await readdir(join(dataDir, "tasks", TASK)), []);
    });
  });

  it("rejects an input over the byte limit and says which limit", async () => {
    await withStore(async (store, _dataDir, scratch) => {
      const archive = await archiveOf(scratch, { "big.bin": randomBytes(5000) });
      await assert.rejects(
        store.writeInput(TASK, Readable.from([archive]), { maxBytes: 1000, maxFiles: 10 }),
        assertFlotillaError("INPUT_REJECTED", /big\.bin.*maxInputBytes/),
      );
      assert.equal(await store.hasInput(TASK), false);
    });
  });

  it("refuses a second input for the same task, also when both arrive at once", async () => {
    await withStore(async (store, _dataDir, scratch) => {
      const archive = await archiveOf(scratch, { "a.txt": "a" });
      const both = await Promise.allSettled([
        store.writeInput(TASK, Readable.from([archive]), DEFAULT_ARCHIVE_LIMITS),
        store.writeInput(TASK, Readable.from([archive]), DEFAULT_ARCHIVE_LIMITS),
      ]);
      assert.equal(both.filter((result) => result.status === "fulfilled").length, 1);
      const refused = both.find((result) => result.status === "rejected");
      assertFlotillaError("INPUT_ALREADY_UPLOADED")(refused?.reason);
      await assert.rejects(
        store.writeInput(TASK, Readable.from([archive]), DEFAULT_ARCHIVE_LIMITS),
        assertFlotillaError("INPUT_ALREADY_UPLOADED"),
      );
    });
  });

  it("stores a small input sent as a buffer (plain tar or tar.gz) like a streamed one, and refuses a second", async () => {
    await withStore(async (store, dataDir, scratch) => {
      await writeFiles(scratch, { "case.inp": "*HEADING\n" });
      for (const [task, gzip] of [
        ["t00000000000011", false],
        ["t00000000000012", true],
      ] as const) {
        const archive = await collect(packDirectory(scratch, { gzip }));
        const stored = await store.writeInput(task, archive, DEFAULT_ARCHIVE_LIMITS);
        assert.deepEqual(stored, { files: 1, bytes: 9, archiveBytes: archive.length });
        assert.deepEqual(await collect(store.openInput(task)), archive);
        assert.deepEqual(await readdir(join(dataDir, "tasks", task)), ["input.tar.gz"]);
        await assert.rejects(
          store.writeInput(task, archive, DEFAULT_ARCHIVE_LIMITS),
          assertFlotillaError("INPUT_ALREADY_UPLOADED"),
        );
      }
    });
  });

  it("rejects a hostile small input with INPUT_REJECTED and keeps nothing", async () => {
    await withStore(async (store) => {
      await assert.rejects(
        store.writeInput(TASK, hostileArchive("/etc/passwd"), DEFAULT_ARCHIVE_LIMITS),
        assertFlotillaError("INPUT_REJECTED", /"\/etc\/passwd"/),
      );
      assert.equal(await store.hasInput(TASK), false);
    });
  });

  it("hands a small input to the claim from memory once, then from the stored file", async () => {
    await withStore(async (store, dataDir, scratch) => {
      const archive = await archiveOf(scratch, { "a.txt": "a" });
      await store.writeInput(TASK, archive, DEFAULT_ARCHIVE_LIMITS);
      // The stored file is replaced behind the store's back: what comes back tells the two apart.
      const onDisk = join(dataDir, "tasks", TASK, "input.tar.gz");
      const other = await archiveOf(join(scratch, "other"), { "b.txt": "b" });
      await writeFile(onDisk, other);
      assert.deepEqual(await store.readSmallInput(TASK, 64 * 1024), archive, "from memory");
      assert.deepEqual(await store.readSmallInput(TASK, 64 * 1024), other, "then from the file");
      assert.equal(await store.readSmallInput(TASK, 10), undefined, "larger than asked: none");
    });
  });

  it("throws FILE_NOT_FOUND before streaming when there is no input", async () => {
    await withStore(async (store) => {
      assert.throws(
        () => store.openInput(TASK),
        assertFlotillaError("FILE_NOT_FOUND", new RegExp(TASK)),
      );
      assert.equal(await store.inputSize(TASK), undefined);
    });
  });

  it("refuses task ids that could leave the data dir", async () => {
    await withStore(async (store) => {
      assert.throws(() => store.taskDir("../etc"), assertFlotillaError("INVALID_INPUT"));
      await assert.rejects(store.hasInput("a/b"), assertFlotillaError("INVALID_INPUT"));
    });
  });
});

describe("blob store: logs", () => {
  it("keeps concurrent appends in call order and reads from any offset", async () => {
    await withStore(async (store, dataDir) => {
      const lines = Array.from({ length: 300 }, (_, i) => `line ${i}\n`);
      await Promise.all(lines.map((line) => store.appendLog(TASK, "stdout", Buffer.from(line))));
      await store.appendLog(TASK, "stderr", Buffer.from("oops\n"));

      const all = lines.join("");
      assert.equal((await collect(store.readLog(TASK, "stdout"))).toString(), all);
      assert.equal(await store.logSize(TASK, "stdout"), Buffer.byteLength(all));
      const offset = Buffer.byteLength(lines.slice(0, 250).join(""));
      assert.equal(
        (await collect(store.readLog(TASK, "stdout", offset))).toString(),
        lines.slice(250).join(""),
      );
      assert.equal((await collect(store.readLog(TASK, "stderr"))).toString(), "oops\n");
      assert.equal(
        store.logPath(TASK, "stdout"),
        join(dataDir, "tasks", TASK, "logs", "stdout.log"),
      );
    });
  });

  it("reads an empty stream when there is no log yet, and size 0", async () => {
    await withStore(async (store) => {
      assert.equal((await collect(store.readLog(TASK, "stderr", 10))).length, 0);
      assert.equal(await store.logSize(TASK, "stderr"), 0);
    });
  });

  it("keeps appending correctly to more logs than it keeps open", async () => {
    await withStore(async (store) => {
      const ids = Array.from({ length: 80 }, (_, i) => `task${String(i).padStart(3, "0")}`);
      for (let round = 0; round < 3; round++) {
        await Promise.all(ids.map((id) => store.appendLog(id, "stdout", Buffer.from(`${round}`))));
      }
      for (const id of ids)
        assert.equal((await collect(store.readLog(id, "stdout"))).toString(), "012");
    });
  });
});

describe("blob store: outputs", () => {
  it("stores outputs with a manifest whose sha256 matches the stored files", async () => {
    await withStore(async (store, dataDir, scratch) => {
      const big = randomBytes(300_000);
      await writeFiles(scratch, { "result.txt": "42\n", "fields/u.vtu": big });
      const when = new Date("2024-05-06T07:08:09Z");
      await utimes(join(scratch, "result.txt"), when, when);
      const withTime = await collect(packDirectory(scratch));

      const manifest = await store.writeOutputs(
        TASK,
        Readable.from([withTime]),
        DEFAULT_ARCHIVE_LIMITS,
      );

      assert.deepEqual(
        manifest.files.map(({ path, size }) => ({ path, size })),
        [
          { path: "fields/u.vtu", size: big.length },
          { path: "result.txt", size: 3 },
        ],
      );
      assert.equal(manifest.totalBytes, big.length + 3);
      for (const file of manifest.files) {
        const stored = await readFile(store.outputFilePath(TASK, file.path) ?? "");
        assert.equal(file.sha256, sha256(stored));
      }
      assert.equal(manifest.files[1]?.mtimeMs, when.getTime());
      assert.deepEqual(await store.getOutputManifest(TASK), manifest);
      // Hashed while unpacked, it is what a second read of the stored files gives.
      const reread = await listFilesWithHashes(join(dataDir, "tasks", TASK, "outputs"));
      assert.deepEqual(manifest.files, reread);
    });
  });

  it("lists what is stored: the last entry of a path wins, a file turned symlink is left out", async () => {
    await withStore(async (store, dataDir) => {
      const archive = tarOf(
        fileEntry("a.txt", "first"),
        fileEntry("b.txt", "bee"),
        fileEntry("a.txt", "second"),
        fileEntry("c.txt", "sea"),
        rawEntry({ path: "c.txt", type: "SymbolicLink", linkpath: "b.txt" }),
      );
      const manifest = await store.writeOutputs(
        TASK,
        Readable.from([archive]),
        DEFAULT_ARCHIVE_LIMITS,
      );
      assert.deepEqual(
        manifest.files.map(({ path, sha256 }) => ({ path, sha256 })),
        [
          { path: "a.txt", sha256: sha256(Buffer.from("second")) },
          { path: "b.txt", sha256: sha256(Buffer.from("bee")) },
        ],
      );
      const stored = join(dataDir, "tasks", TASK, "outputs");
      assert.deepEqual(manifest.files, await listFilesWithHashes(stored));
    });
  });

  it("replaces earlier outputs, and keeps them when a new upload is rejected", async () => {
    await withStore(async (store, dataDir, scratch) => {
      await store.writeOutputs(
        TASK,
        Readable.from([await archiveOf(scratch, { "old.txt": "old" })]),
        DEFAULT_ARCHIVE_LIMITS,
      );
      const second = await store.writeOutputs(
        TASK,
        Readable.from([await archiveOf(scratch, { "new.txt": "new" })]),
        DEFAULT_ARCHIVE_LIMITS,
      );
      assert.deepEqual(
        second.files.map((file) => file.path),
        ["new.txt"],
      );
      await assert.rejects(stat(store.outputFilePath(TASK, "old.txt") ?? ""), { code: "ENOENT" });

      await assert.rejects(
        store.writeOutputs(
          TASK,
          Readable.from([hostileArchive("/abs.txt")]),
          DEFAULT_ARCHIVE_LIMITS,
        ),
        assertFlotillaError("INVALID_INPUT", /"\/abs\.txt"/),
      );
      assert.deepEqual(await store.getOutputManifest(TASK), second);
      assert.deepEqual((await readdir(join(dataDir, "tasks", TASK))).sort(), [
        "outputs",
        "outputs.json",
      ]);
    });
  });

  it("accepts an empty output archive", async () => {
    await withStore(async (store, _dataDir, scratch) => {
      const manifest = await store.writeOutputs(
        TASK,
        Readable.from([await archiveOf(scratch, {})]),
        DEFAULT_ARCHIVE_LIMITS,
      );
      assert.deepEqual(manifest, { files: [], totalBytes: 0 });
    });
  });

  it("records empty outputs without an archive, replacing earlier outputs", async () => {
    await withStore(async (store, dataDir, scratch) => {
      await store.writeOutputs(
        TASK,
        Readable.from([await archiveOf(scratch, { "old.txt": "old" })]),
        DEFAULT_ARCHIVE_LIMITS,
      );
      const manifest = await store.writeEmptyOutputs(TASK);
      assert.deepEqual(manifest, { files: [], totalBytes: 0 });
      assert.deepEqual(await store.getOutputManifest(TASK), manifest);
      await assert.rejects(stat(store.outputFilePath(TASK, "old.txt") ?? ""), { code: "ENOENT" });
      assert.throws(
        () => store.openOutputFile(TASK, "old.txt"),
        assertFlotillaError("FILE_NOT_FOUND"),
      );
      assert.deepEqual(await readdir(join(dataDir, "tasks", TASK)), ["outputs.json"]);
      const dest = join(scratch, "..", "unpacked-empty");
      await unpackArchive(store.packOutputs(TASK).stream(), dest, DEFAULT_ARCHIVE_LIMITS);
      assert.deepEqual(await listFilesWithHashes(dest), []);
    });
  });

  it("packs all outputs or the chosen ones, and refuses an unknown file before streaming", async () => {
    await withStore(async (store, _dataDir, scratch) => {
      const files = { "a.txt": "A", "dir/b.txt": "B", "dir/c.txt": "C" };
      await store.writeOutputs(
        TASK,
        Readable.from([await archiveOf(scratch, files)]),
        DEFAULT_ARCHIVE_LIMITS,
      );

      const unpackedPaths = async (archive: Readable): Promise<string[]> => {
        const dest = join(scratch, "..", `unpacked-${Math.random()}`);
        await unpackArchive(archive, dest, DEFAULT_ARCHIVE_LIMITS);
        const listed = await listFilesWithHashes(dest);
        await rm(dest, { recursive: true });
        return listed.map((file) => `${file.path}=${file.sha256.slice(0, 8)}`);
      };
      assert.deepEqual(
        await unpackedPaths(store.packOutputs(TASK).stream()),
        Object.entries(files).map(([path, content]) => `${path}=${sha256(content).slice(0, 8)}`),
      );
      assert.deepEqual(await unpackedPaths(store.packOutputs(TASK, ["dir/c.txt"]).stream()), [
        `dir/c.txt=${sha256("C").slice(0, 8)}`,
      ]);
      assert.throws(
        () => store.packOutputs(TASK, ["a.txt", "missing.txt"]),
        assertFlotillaError("FILE_NOT_FOUND", /"missing\.txt".*flotilla tasks list-files/),
      );
      assert.throws(
        () => store.packOutputs("t00000000000002"),
        assertFlotillaError("OUTPUTS_NOT_AVAILABLE"),
      );
    });
  });

  it("opens one output file, and refuses paths that are not stored outputs", async () => {
    await withStore(async (store, _dataDir, scratch) => {
      await store.writeOutputs(
        TASK,
        Readable.from([await archiveOf(scratch, { "dir/log.txt": "tail me" })]),
        DEFAULT_ARCHIVE_LIMITS,
      );
      assert.equal(
        (await collect(store.openOutputFile(TASK, "dir/log.txt"))).toString(),
        "tail me",
      );
      assert.throws(() => store.openOutputFile(TASK, "dir"), assertFlotillaError("FILE_NOT_FOUND"));
      assert.throws(
        () => store.openOutputFile(TASK, "../input.tar.gz"),
        assertFlotillaError("FILE_NOT_FOUND"),
      );
      assert.equal(store.outputFilePath(TASK, "../../x"), undefined);
      assert.equal(store.outputFilePath(TASK, "/etc/passwd"), undefined);
    });
  });
});

describe("blob store: persistence", () => {
  it("finds inputs, outputs and logs again after re-opening the data dir, until the task is removed", async () => {
    await withStore(async (store, dataDir, scratch) => {
      const input = await archiveOf(scratch, { "in.txt": "in" });
      await store.writeInput(TASK, Readable.from([input]), DEFAULT_ARCHIVE_LIMITS);
      const manifest = await store.writeOutputs(
        TASK,
        Readable.from([await archiveOf(scratch, { "out.txt": "out" })]),
        DEFAULT_ARCHIVE_LIMITS,
      );
      await store.appendLog(TASK, "stdout", Buffer.from("hello\n"));
      await store.close();

      const reopened = openBlobStore(dataDir);
      try {
        assert.deepEqual(await collect(reopened.openInput(TASK)), input);
        assert.deepEqual(await reopened.getOutputManifest(TASK), manifest);
        assert.deepEqual(
          await unpackArchive(
            reopened.packOutputs(TASK).stream(),
            join(scratch, "x"),
            DEFAULT_ARCHIVE_LIMITS,
          ),
          {
            files: 1,
            bytes: 3,
          },
        );
        await reopened.appendLog(TASK, "stdout", Buffer.from("again\n"));
        assert.equal(
          (await collect(reopened.readLog(TASK, "stdout"))).toString(),
          "hello\nagain\n",
        );

        await reopened.removeTask(TASK);
        await assert.rejects(stat(reopened.taskDir(TASK)), { code: "ENOENT" });
        assert.equal(await reopened.getOutputManifest(TASK), undefined);
      } finally {
        await reopened.close();
      }
    });
  });
});

describe("blob store: small inputs kept for the claim", () => {
  it("keeps the oldest when full, hands each out once, and lets stale ones go", () => {
    let now = 0;
    const recent = createRecentInputs(10, 1_000, () => now);
    recent.add("a", Buffer.from("aaaaaa"));
    recent.add("b", Buffer.from("bbbbbb"));
    assert.equal(recent.take("b"), undefined, "full: the newer one was not kept");
    assert.equal(recent.take("a")?.toString(), "aaaaaa");
    assert.equal(recent.take("a"), undefined, "handed out once");
    recent.add("c", Buffer.from("cccc"));
    now = 2_000;
    recent.add("d", Buffer.from("dddddddd"));
    assert.equal(recent.take("c"), undefined, "older than the ttl: gone");
    assert.equal(recent.take("d")?.toString(), "dddddddd", "room made by the stale one");
  });
});
