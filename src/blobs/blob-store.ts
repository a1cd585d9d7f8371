// Inputs, outputs and logs of tasks on the server's filesystem (DESIGN.md "Storage"):
//
//   <dataDir>/tasks/<id>/input.tar.gz       the input archive, as uploaded (validated, never unpacked)
//   <dataDir>/tasks/<id>/outputs/<path>     the output files, unpacked
//   <dataDir>/tasks/<id>/outputs.json       their manifest; outputs exist only once it does
//   <dataDir>/tasks/<id>/logs/std{out,err}.log
//
// Every write goes to a temp name in the task's directory (".input-*", ".outputs-*") and is renamed
// into place, so a crash leaves either the old state or the new one, plus temp files that the next
// write of the same kind removes. One server process owns a data dir: the per-task serialisation
// below is in-process.
import { randomUUID } from "node:crypto";
import {
  constants,
  createReadStream,
  createWriteStream,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { PassThrough, Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FlotillaError, InvalidInputError, NotFoundError } from "../domain/errors.js";
import {
  inputAlreadyUploaded,
  inputRejected,
  outputFileNotFound,
  outputsRejected,
} from "./blob-errors.js";
import type { OutputFile, OutputManifest } from "../domain/task.js";
import {
  ArchiveRejectedError,
  scanArchive,
  unpackArchive,
  type ArchiveLimits,
  type ArchiveTotals,
} from "../lib/archive.js";
import { filesTarStream, writeFilesTar, type TarSink } from "../lib/tar-files.js";
import { createLogHandles, createSerialQueues, readFrom } from "./log-files.js";

export type LogStream = "stdout" | "stderr";

export interface StoredInput {
  /** Sum of the sizes of the files in the archive. */
  readonly bytes: number;
  readonly files: number;
  /** Size of the archive itself, as stored. */
  readonly archiveBytes: number;
}

export interface BlobStore {
  /**
   * Stores an input archive after validating it; INPUT_REJECTED or INPUT_ALREADY_UPLOADED. A
   * Buffer (a small input sent inside the create request) is also kept in memory for a while,
   * so that the claim that sends it along usually reads no file.
   */
  writeInput(
    taskId: string,
    source: Readable | Buffer,
    limits: ArchiveLimits,
  ): Promise<StoredInput>;
  hasInput(taskId: string): Promise<boolean>;
  /** The stored archive; throws FILE_NOT_FOUND at once (before streaming) when absent. */
  openInput(taskId: string): Readable;
  inputSize(taskId: string): Promise<number | undefined>;
  /** The stored input archive when it is at most `maxBytes`; undefined when larger or absent. */
  readSmallInput(taskId: string, maxBytes: number): Promise<Buffer | undefined>;
  /** Appends in call order, also for concurrent calls on the same log. */
  appendLog(taskId: string, stream: LogStream, chunk: Uint8Array): Promise<void>;
  logSize(taskId: string, stream: LogStream): Promise<number>;
  /** From `offset` to the end of the log as it is while reading; empty when there is no log. */
  readLog(taskId: string, stream: LogStream, offset?: number): Readable;
  logPath(taskId: string, stream: LogStream): string;
  /** Unpacks an output archive, replacing earlier outputs; INVALID_INPUT when rejected. */
  writeOutputs(taskId: string, source: Readable, limits: ArchiveLimits): Promise<OutputManifest>;
  /** Records that the task has no outputs (an empty manifest), replacing earlier outputs. */
  writeEmptyOutputs(taskId: string): Promise<OutputManifest>;
  getOutputManifest(taskId: string): Promise<OutputManifest | undefined>;
  /** Tar of all outputs or of `files`; throws FILE_NOT_FOUND before streaming for an unknown one. */
  packOutputs(taskId: string, files?: readonly string[]): OutputArchive;
  /** One output file; throws FILE_NOT_FOUND before streaming when it is not a stored output. */
  openOutputFile(taskId: string, relPath: string): Readable;
  /** Where an output file lives, or undefined when relPath would leave the outputs dir. */
  outputFilePath(taskId: string, relPath: string): string | undefined;
  taskDir(taskId: string): string;
  removeTask(taskId: string): Promise<void>;
  /** Closes the cached log file handles. */
  close(): Promise<void>;
}

/** A tar of stored outputs, not yet read. */
export interface OutputArchive {
  /** Writes the archive to `sink` (a socket: see streamSink), through a few reused buffers. */
  writeTo(sink: TarSink, signal?: AbortSignal): Promise<void>;
  /** The archive as a stream of copied chunks. */
  stream(): Readable;
}

const INPUT_FILE = "input.tar.gz";
const OUTPUTS_DIR = "outputs";
const MANIFEST_FILE = "outputs.json";
const TASK_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_CACHED_MANIFESTS = 32;
/** Small inputs kept in memory between their upload and their claim (see createRecentInputs). */
const RECENT_INPUTS_MAX_BYTES = 8 * 1024 * 1024;
const RECENT_INPUTS_TTL_MS = 5 * 60_000;

export function openBlobStore(dataDir: string): BlobStore {
  const serial = createSerialQueues();
  const logs = createLogHandles(serial);
  const manifests = new Map<string, OutputManifest>();
  const recentInputs = createRecentInputs(RECENT_INPUTS_MAX_BYTES, RECENT_INPUTS_TTL_MS);

  const taskDir = (taskId: string): string => {
    if (!TASK_ID_PATTERN.test(taskId))
      throw new InvalidInputError(`"${taskId}" is not a valid task id`);
    return join(dataDir, "tasks", taskId);
  };
  const logPath = (taskId: string, stream: LogStream): string =>
    join(taskDir(taskId), "logs", `${stream}.log`);
  const outputFilePath = (taskId: string, relPath: string): string | undefined => {
    const rel = toSafeRelativePath(relPath);
    return rel === undefined ? undefined : join(taskDir(taskId), OUTPUTS_DIR, rel);
  };

  // Bumped on every change of a manifest on disk: a read that overlapped a change is not cached,
  // so a slow reader cannot put back the manifest that a write just replaced.
  let generation = 0;
  function cacheManifest(taskId: string, manifest: OutputManifest | undefined, seen: number): void {
    if (seen !== generation) return;
    manifests.delete(taskId);
    if (manifest === undefined) return;
    manifests.set(taskId, manifest);
    const oldest = manifests.keys().next().value;
    if (manifests.size > MAX_CACHED_MANIFESTS && oldest !== undefined) manifests.delete(oldest);
  }
  function manifestChanged(taskId: string, manifest?: OutputManifest): void {
    generation += 1;
    manifests.delete(taskId);
    cacheManifest(taskId, manifest, generation);
  }

  // Sync so that packOutputs can refuse an unknown file before a response starts; the manifest
  // is usually cached by the getOutputManifest call that precedes it.
  function readManifestSync(taskId: string): OutputManifest | undefined {
    const cached = manifests.get(taskId);
    if (cached !== undefined) return cached;
    const text = readOrUndefined(() => readFileSync(join(taskDir(taskId), MANIFEST_FILE), "utf8"));
    const manifest = text === undefined ? undefined : parseManifest(taskId, text);
    cacheManifest(taskId, manifest, generation);
    return manifest;
  }

  return {
    taskDir,
    logPath,
    outputFilePath,

    async writeInput(taskId, source, limits) {
      const dir = taskDir(taskId);
      const target = join(dir, INPUT_FILE);
      if (Buffer.isBuffer(source)) {
        const stored = await storeSmallInput(taskId, source, target, limits);
        recentInputs.add(taskId, source);
        return stored;
      }
      if (await exists(target)) throw inputAlreadyUploaded(taskId);
      await mkdir(dir, { recursive: true });
      const temp = join(dir, `.input-${randomUUID()}.tmp`);
      try {
        const stored = await storeWhileScanning(source, temp, limits);
        // link, not rename: it fails if another upload of the same task got there first.
        await link(temp, target).catch((error: unknown) => {
          throw isCode(error, "EEXIST") ? inputAlreadyUploaded(taskId) : error;
        });
        return stored;
      } catch (error) {
        throw error instanceof ArchiveRejectedError ? inputRejected(taskId, error) : error;
      } finally {
        // unlink, not rm: rm looks the path up first, and this is once per task.
        await unlink(temp).catch(ignoreMissing);
      }
    },

    async hasInput(taskId) {
      return exists(join(taskDir(taskId), INPUT_FILE));
    },

    openInput(taskId) {
      const path = join(taskDir(taskId), INPUT_FILE);
      const message = `task ${taskId} has no stored input; it was never uploaded (or the task was removed)`;
      return openFileOrThrow(path, () => new NotFoundError("FILE_NOT_FOUND", message));
    },

    async inputSize(taskId) {
      return (await stat(join(taskDir(taskId), INPUT_FILE)).catch(ignoreMissing))?.size;
    },

    async readSmallInput(taskId, maxBytes) {
      const recent = recentInputs.take(taskId);
      if (recent !== undefined && recent.byteLength <= maxBytes) return recent;
      const file = await open(join(taskDir(taskId), INPUT_FILE), "r").catch(ignoreMissing);
      if (file === undefined) return undefined;
      try {
        const { size } = await file.stat();
        if (size > maxBytes) return undefined;
        // Inputs are written to a temp name and renamed: the opened file does not change.
        const buffer = Buffer.alloc(size);
        const { bytesRead } = await file.read(buffer, 0, size, 0);
        return bytesRead === size ? buffer : undefined;
      } finally {
        await file.close();
      }
    },

    async appendLog(taskId, stream, chunk) {
      await logs.append(logPath(taskId, stream), chunk);
    },

    async logSize(taskId, stream) {
      return (await stat(logPath(taskId, stream)).catch(ignoreMissing))?.size ?? 0;
    },

    readLog(taskId, stream, offset = 0) {
      return Readable.from(readFrom(logPath(taskId, stream), offset), { objectMode: false });
    },

    async writeOutputs(taskId, source, limits) {
      const dir = taskDir(taskId);
      return serial.run(`outputs:${dir}`, async () => {
        await mkdir(dir, { recursive: true });
        await removeTemps(dir, ".outputs-");
        const staging = join(dir, `.outputs-${randomUUID()}.tmp`);
        try {
          // Hashed while unpacked: the manifest needs no second read of the files.
          const hashed = new Map<string, OutputFile>();
          await unpackArchive(source, staging, limits, {
            onFileHashed: (path, sha256, size, mtimeMs) =>
              hashed.set(path, { path, size, sha256, mtimeMs }),
          });
          const files = await manifestFiles(staging, hashed);
          const manifest: OutputManifest = {
            files,
            totalBytes: files.reduce((sum, file) => sum + file.size, 0),
          };
          manifestChanged(taskId);
          await replaceOutputs(dir, staging, manifest);
          manifestChanged(taskId, manifest);
          return manifest;
        } catch (error) {
          await rm(staging, { recursive: true, force: true });
          throw error instanceof ArchiveRejectedError ? outputsRejected(taskId, error) : error;
        }
      });
    },

    async writeEmptyOutputs(taskId) {
      const dir = taskDir(taskId);
      return serial.run(`outputs:${dir}`, async () => {
        // As replaceOutputs, in fewer steps: no files need no outputs dir (an absent output file
        // is FILE_NOT_FOUND either way). The manifest goes first and comes back last.
        const manifest: OutputManifest = { files: [], totalBytes: 0 };
        manifestChanged(taskId);
        await unlink(join(dir, MANIFEST_FILE)).catch(ignoreMissing);
        await rm(join(dir, OUTPUTS_DIR), { recursive: true, force: true });
        const temp = join(dir, `.outputs-manifest-${randomUUID()}.tmp`);
        // The task's dir holds its input, so it is there; made only if it is not.
        await writeFile(temp, JSON.stringify(manifest)).catch(async (error: unknown) => {
          if (!isCode(error, "ENOENT")) throw error;
          await mkdir(dir, { recursive: true });
          await writeFile(temp, JSON.stringify(manifest));
        });
        await rename(temp, join(dir, MANIFEST_FILE));
        manifestChanged(taskId, manifest);
        return manifest;
      });
    },

    async getOutputManifest(taskId) {
      const cached = manifests.get(taskId);
      if (cached !== undefined) return cached;
      const seen = generation;
      const path = join(taskDir(taskId), MANIFEST_FILE);
      const text = await readFile(path, "utf8").catch(ignoreMissing);
      const manifest = text === undefined ? undefined : parseManifest(taskId, text);
      cacheManifest(taskId, manifest, seen);
      return manifest;
    },

    packOutputs(taskId, files) {
      const manifest = readManifestSync(taskId);
      if (manifest === undefined) {
        throw new FlotillaError("OUTPUTS_NOT_AVAILABLE", `task ${taskId} has no stored outputs`, {
          details: { taskId },
        });
      }
      const known = new Set(manifest.files.map((file) => file.path));
      const chosen =
        files === undefined ? [...known] : files.map((file) => toSafeRelativePath(file) ?? file);
      const unknown = chosen.find((file) => !known.has(file));
      if (unknown !== undefined) throw outputFileNotFound(taskId, unknown);
      const dir = join(taskDir(taskId), OUTPUTS_DIR);
      return {
        writeTo: (sink, signal) => writeFilesTar(dir, chosen, sink, signal),
        stream: () => filesTarStream(dir, chosen),
      };
    },

    openOutputFile(taskId, relPath) {
      const path = outputFilePath(taskId, relPath);
      const notFound = (): Error => outputFileNotFound(taskId, relPath);
      if (path === undefined) throw notFound();
      return openFileOrThrow(path, notFound);
    },

    async removeTask(taskId) {
      const dir = taskDir(taskId);
      recentInputs.take(taskId);
      await Promise.all([
        logs.close(logPath(taskId, "stdout")),
        logs.close(logPath(taskId, "stderr")),
      ]);
      await serial.run(`outputs:${dir}`, async () => {
        manifestChanged(taskId);
        await rm(dir, { recursive: true, force: true });
        manifestChanged(taskId);
      });
    },

    async close() {
      await logs.closeAll();
    },
  };
}

// The unpacked regular files sorted by path, as listFilesWithHashes lists them: a path an archive
// wrote as a file and then again as a symlink is left out, and a file whose entry carried no
// mtime gets the one on disk.
async function manifestFiles(
  dir: string,
  hashed: ReadonlyMap<string, OutputFile>,
): Promise<OutputFile[]> {
  const paths = [...hashed.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files = await Promise.all(
    paths.map(async (path) => {
      const file = hashed.get(path) as OutputFile;
      const info = await lstat(join(dir, path));
      if (!info.isFile()) return undefined;
      return file.mtimeMs === undefined ? { ...file, mtimeMs: info.mtimeMs } : file;
    }),
  );
  return files.filter((file): file is OutputFile => file !== undefined);
}

/**
 * A small input already in memory: scanned from the buffer, then written with synchronous calls
 * (a few syscalls for at most INLINE_SUBMIT_INPUT_MAX_BYTES, cheaper than a stream's round
 * trips through the thread pool) to a temp name and linked into place, as the streamed path does.
 */
async function storeSmallInput(
  taskId: string,
  archive: Buffer,
  target: string,
  limits: ArchiveLimits,
): Promise<StoredInput> {
  let totals: ArchiveTotals;
  try {
    totals = await scanArchive(Readable.from([archive]), limits);
  } catch (error) {
    throw error instanceof ArchiveRejectedError ? inputRejected(taskId, error) : error;
  }
  const temp = join(dirname(target), `.input-${randomUUID()}.tmp`);
  mkdirSync(dirname(target), { recursive: true });
  try {
    writeFileSync(temp, archive, { flag: "wx" });
    try {
      linkSync(temp, target);
    } catch (error) {
      throw isCode(error, "EEXIST") ? inputAlreadyUploaded(taskId) : error;
    }
  } finally {
    try {
      unlinkSync(temp);
    } catch (error) {
      ignoreMissing(error);
    }
  }
  return { ...totals, archiveBytes: archive.byteLength };
}

/**
 * Recently uploaded small inputs by task id, at most `maxBytes` in all, each for at most `ttlMs`.
 * When full, new inputs are not kept: claims take the oldest queued tasks first, so the kept
 * ones are the next to be claimed, also behind a deep queue. Inputs of tasks never claimed
 * (killed in the queue) leave after `ttlMs`.
 */
export function createRecentInputs(
  maxBytes: number,
  ttlMs: number,
  clock: () => number = Date.now,
): {
  add(taskId: string, archive: Buffer): void;
  /** The input, forgotten once taken (a retried claim reads the stored file). */
  take(taskId: string): Buffer | undefined;
} {
  const inputs = new Map<string, { archive: Buffer; at: number }>();
  let bytes = 0;
  const forget = (taskId: string): Buffer | undefined => {
    const entry = inputs.get(taskId);
    if (entry === undefined) return undefined;
    inputs.delete(taskId);
    bytes -= entry.archive.byteLength;
    return entry.archive;
  };
  return {
    add(taskId, archive) {
      const now = clock();
      forget(taskId);
      // Oldest first (insertion order): stop at the first one still fresh.
      for (const [id, entry] of inputs) {
        if (now - entry.at < ttlMs) break;
        forget(id);
      }
      if (bytes + archive.byteLength > maxBytes) return;
      inputs.set(taskId, { archive, at: now });
      bytes += archive.byteLength;
    },
    take: forget,
  };
}

// Tees the upload into the temp file and the scanner. A rejection aborts the copy at once; the
// source itself is left for the caller (the HTTP layer still answers on its connection).
async function storeWhileScanning(
  source: Readable,
  path: string,
  limits: ArchiveLimits,
): Promise<StoredInput> {
  const scanner = new PassThrough();
  const controller = new AbortController();
  const scanned = scanArchive(scanner, limits).then(
    (totals) => ({ totals, error: undefined }),
    (error: unknown) => {
      controller.abort(error);
      return { totals: undefined, error };
    },
  );
  let archiveBytes = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      archiveBytes += chunk.byteLength;
      if (scanner.write(chunk)) callback(null, chunk);
      else scanner.once("drain", () => callback(null, chunk));
    },
    flush(callback) {
      scanner.end();
      callback();
    },
  });
  const upload = source.iterator({ destroyOnReturn: false });
  try {
    await pipeline(upload, tee, createWriteStream(path, { flags: "wx" }), {
      signal: controller.signal,
    });
  } catch (error) {
    scanner.destroy();
    const outcome = await scanned;
    throw outcome.error instanceof ArchiveRejectedError ? outcome.error : error;
  }
  const outcome = await scanned;
  if (outcome.totals === undefined) throw outcome.error;
  return { ...outcome.totals, archiveBytes };
}

// The manifest goes first and comes back last: while it is absent the outputs count as missing,
// so no reader ever sees a manifest that does not match the files.
async function replaceOutputs(
  dir: string,
  staging: string,
  manifest: OutputManifest,
): Promise<void> {
  await rm(join(dir, MANIFEST_FILE), { force: true });
  const old = join(dir, `.outputs-old-${randomUUID()}`);
  await rename(join(dir, OUTPUTS_DIR), old).catch(ignoreMissing);
  await rename(staging, join(dir, OUTPUTS_DIR));
  const temp = join(dir, `.outputs-manifest-${randomUUID()}.tmp`);
  await writeFile(temp, JSON.stringify(manifest));
  await rename(temp, join(dir, MANIFEST_FILE));
  await rm(old, { recursive: true, force: true });
}

async function removeTemps(dir: string, prefix: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

function parseManifest(taskId: string, text: string): OutputManifest {
  const value = JSON.parse(text) as Partial<OutputManifest> | null;
  if (value === null || !Array.isArray(value.files) || typeof value.totalBytes !== "number") {
    throw new Error(`the output manifest of task ${taskId} is corrupt`);
  }
  return value as OutputManifest;
}

// Opened synchronously so that a missing file is an error the caller gets before any byte is
// streamed (the server answers 404, not a broken 200). O_NOFOLLOW: a symlink is not a file here.
function openFileOrThrow(path: string, notFound: () => Error): Readable {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (isCode(error, "ENOENT") || isCode(error, "ELOOP") || isCode(error, "ENOTDIR"))
      throw notFound();
    throw error;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw notFound();
  }
  return createReadStream(path, { fd });
}

/** "a/./b" → "a/b"; undefined for empty, absolute or ".." paths. */
function toSafeRelativePath(relPath: string): string | undefined {
  if (relPath === "" || relPath.startsWith("/")) return undefined;
  const normalized = posix.normalize(relPath).replace(/\/+$/, "");
  if (normalized === "." || normalized === ".." || normalized.startsWith("../")) return undefined;
  return relPath.split("/").includes("..") ? undefined : normalized;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(ignoreMissing)) !== undefined;
}

function readOrUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    return ignoreMissing(error);
  }
}

function ignoreMissing(error: unknown): undefined {
  if (isCode(error, "ENOENT")) return undefined;
  throw error;
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}
