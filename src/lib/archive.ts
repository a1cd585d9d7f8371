// Tar archives in and out of directories, safe against hostile input.
//
// unpackArchive and scanArchive REJECT the whole archive (ArchiveRejectedError, naming the entry)
// when any entry is:
//   - an absolute path ("/etc/passwd")                                   reason "absolute-path"
//   - a path with a ".." segment ("../x", "a/../../x")                    reason "parent-path"
//   - a symlink whose target is absolute, climbs above the root, or has
//     ".." after a name ("a/../b": a may itself be a link)              reason "link-outside"
//   - a hard link                                                         reason "hard-link"
//   - a character or block device, or a FIFO                              reason "special-file"
//   - any other type (sparse, GNU dump dir, unknown, oversized metadata)  reason "unsupported-entry"
//   - under a path the archive (or destDir) has as a file or symlink, or
//     a directory where a file or symlink is, or the reverse               reason "path-conflict"
//   - one too many: more than maxFiles entries (files, dirs and symlinks) reason "too-many-files"
//   - one too big: file sizes summing past maxBytes                       reason "too-large"
// and rejects data that is not a tar, a truncated tar or a bad checksum (reason "corrupt").
// Paths are normalised first ("./a//b/" is "a/b"). Gzip is detected from the magic bytes. A lone
// root entry ("./") is skipped. An empty archive (end-of-archive blocks only) is accepted. Limits
// are checked on each header, before its data is written, so the rest of an oversized archive is
// not read. Files keep their mtime and execute bits (never setuid/setgid).
//
// On any failure, unpackArchive removes what it wrote: the whole of destDir (and any parent it
// made) if the call created it, otherwise every path it created inside destDir (files it replaced
// stay gone). The source is never destroyed: on failure it is left paused, for the caller to
// discard or destroy (an HTTP server still wants to send its 4xx on that connection).
import { createHash, type Hash } from "node:crypto";
import { readlinkSync, Stats } from "node:fs";
import { lstat, mkdir, readdir, rm, symlink, unlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import { Pack, Parser, type ReadEntry } from "tar";
import {
  ArchiveRejectedError,
  conflict,
  corrupt,
  createEntryChecker,
  describeEscapingLink,
  describeUnsafePath,
  normalizeEntryPath,
  unsupported,
  type ArchiveLimits,
  type ArchiveTotals,
  type CheckedEntry,
} from "./archive-rules.js";
import { createWriteBehind, type WriteBehind } from "./write-behind.js";

export {
  ArchiveRejectedError,
  DEFAULT_ARCHIVE_LIMITS,
  type ArchiveLimits,
  type ArchiveRejectReason,
  type ArchiveTotals,
} from "./archive-rules.js";

type EntryVisitor = (entry: CheckedEntry, data: ReadEntry, signal: AbortSignal) => Promise<void>;

/**
 * A tar stream of `dir`: every regular file, directory and inside-pointing symlink (see top of
 * file), or only `files` (relative paths). Paths are relative with no leading "./".
 */
export function packDirectory(
  dir: string,
  options: { files?: readonly string[]; gzip?: boolean } = {},
): Readable {
  const files = options.files === undefined ? undefined : [...new Set(options.files)];
  for (const file of files ?? []) {
    const problem = describeUnsafePath(file);
    if (problem !== undefined) throw new Error(`cannot pack "${file}": it ${problem}`);
  }
  const pack = new Pack({
    cwd: dir,
    gzip: options.gzip === true,
    portable: true,
    filter: (path, stat) => isPackable(dir, path, stat),
    // An empty link cache stores every hard-linked file as a plain file: unpacking refuses links.
    linkCache: new NoLinkCache(),
  });
  async function* generate(): AsyncGenerator<Buffer> {
    const paths = files ?? (await readdir(dir)).sort();
    for (const path of paths) pack.add(path);
    pack.end();
    yield* pack;
  }
  return Readable.from(generate(), { objectMode: false });
}

class NoLinkCache extends Map<`${number}:${number}`, string> {
  override get(): undefined {
    return undefined;
  }
  override set(): this {
    return this;
  }
}

function isPackable(dir: string, path: string, stat: Stats | ReadEntry): boolean {
  // Pack hands ReadEntry objects only when fed another archive's entries, which we never do.
  if (!(stat instanceof Stats)) return false;
  if (stat.isFile() || stat.isDirectory()) return true;
  if (!stat.isSymbolicLink()) return false;
  // Sync because tar's filter is sync; symlinks are rare enough for this not to matter.
  const target = readlinkSync(join(dir, path));
  return describeEscapingLink(normalizeEntryPath(path), target) === undefined;
}

export interface UnpackOptions {
  /**
   * Called with the sha256 (hex) of every file, by its normalised path, once all its bytes have
   * arrived: the file is hashed on its way to the disk, so checking it needs no second read.
   * The writes themselves are done when unpackArchive resolves.
   */
  readonly onFileHashed?: (path: string, sha256: string, size: number, mtimeMs?: number) => void;
}

/** Unpacks a tar (or tar.gz) into `destDir`, enforcing the rules and limits at the top of file. */
export async function unpackArchive(
  source: Readable,
  destDir: string,
  limits: ArchiveLimits,
  options: UnpackOptions = {},
): Promise<ArchiveTotals> {
  const madeDir = await mkdir(destDir, { recursive: true });
  const writer = createEntryWriter(destDir, options.onFileHashed);
  try {
    const totals = await walkArchive(source, limits, writer.write);
    await writer.settle();
    return totals;
  } catch (error) {
    await writer.undo(madeDir);
    throw error;
  }
}

/** Validates an archive stream with the rules of unpackArchive, writing nothing. */
export async function scanArchive(source: Readable, limits: ArchiveLimits): Promise<ArchiveTotals> {
  return walkArchive(source, limits, (_entry, data) => {
    data.resume();
    return Promise.resolve();
  });
}

// Feeds `source` to a tar parser and visits its entries one at a time, in order. Stops reading
// at the first failure; the visitor's in-flight work is aborted and awaited before returning.
async function walkArchive(
  source: Readable,
  limits: ArchiveLimits,
  visit: EntryVisitor,
): Promise<ArchiveTotals> {
  // tar's ratio guard would refuse legitimate archives of zero-filled files; maxBytes bounds disk.
  const parser = new Parser({ maxDecompressionRatio: Number.POSITIVE_INFINITY });
  const failure = createFailure();
  const checker = createEntryChecker(limits);
  let chain = Promise.resolve();
  let sawEof = false;
  parser.on("entry", (data: ReadEntry) => {
    chain = chain
      .then(async () => {
        const entry = failure.failed ? undefined : checker.check(data);
        if (entry === undefined) data.resume();
        else await visit(entry, data, failure.signal);
      })
      .catch(failure.fail);
  });
  parser.on("ignoredEntry", (data: ReadEntry) => failure.fail(unsupported(data)));
  parser.on("eof", () => (sawEof = true));
  parser.on("warn", (_code: string, message: string) => {
    const emptyArchive = sawEof && checker.entries === 0 && /unrecognized archive/i.test(message);
    if (!emptyArchive) failure.fail(corrupt(message));
  });
  parser.on("error", (error: Error) => failure.fail(corrupt(error.message)));
  const ended = new Promise<void>((resolve) => parser.once("end", resolve));
  try {
    await feed(source, parser, failure);
    await Promise.race([ended, failure.settled]);
  } catch (error) {
    failure.fail(error);
  }
  await chain;
  if (failure.failed) throw failure.error;
  return checker.totals();
}

async function feed(source: Readable, parser: Parser, failure: Failure): Promise<void> {
  for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if (failure.failed) return;
    if (!parser.write(chunk)) {
      await Promise.race([
        new Promise((resolve) => parser.once("drain", resolve)),
        failure.settled,
      ]);
    }
    if (failure.failed) return;
  }
  parser.end();
}

interface Failure {
  readonly failed: boolean;
  readonly error: unknown;
  readonly signal: AbortSignal;
  /** Resolves (never rejects) on the first failure. */
  readonly settled: Promise<void>;
  readonly fail: (error: unknown) => void;
}

function createFailure(): Failure {
  const controller = new AbortController();
  let resolveSettled: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (resolveSettled = resolve));
  const failure = {
    failed: false,
    error: undefined as unknown,
    signal: controller.signal,
    settled,
    fail(error: unknown): void {
      if (failure.failed) return;
      failure.failed = true;
      failure.error = error;
      controller.abort(error);
      resolveSettled();
    },
  };
  return failure;
}

// Writes checked entries under root. Never writes through a symlink or over a directory, even
// ones that were in root before the call; records what it creates so a failure can undo it.
function createEntryWriter(root: string, onFileHashed: UnpackOptions["onFileHashed"]) {
  const realDirs = new Set<string>([""]);
  const created: string[] = [];
  const files = createWriteBehind();
  // Files still being opened in the background, by path. An archive may hold a path more than
  // once (the last entry wins): a later entry for it, or under it, waits for that open first,
  // or its own lstat-then-create would race it (EEXIST from a symlink made in between).
  const opening = new Map<string, Promise<void>>();

  async function ensureDir(rel: string, forPath: string): Promise<void> {
    if (realDirs.has(rel)) return;
    await ensureDir(posix.dirname(rel) === "." ? "" : posix.dirname(rel), forPath);
    await opening.get(rel);
    const abs = join(root, rel);
    const info = await lstat(abs).catch(ignoreMissing);
    if (info === undefined) {
      await mkdir(abs);
      created.push(abs);
    } else if (!info.isDirectory()) {
      throw conflict(forPath, rel, info.isSymbolicLink() ? "symlink" : "file");
    }
    realDirs.add(rel);
  }

  // The entry's absolute path, once its parent directory is a real one.
  async function pathFor(entry: CheckedEntry): Promise<string> {
    const parent = posix.dirname(entry.path);
    await ensureDir(parent === "." ? "" : parent, entry.path);
    return join(root, entry.path);
  }

  // Makes room for a file or symlink: an old file or symlink is replaced, a directory is not.
  async function clearPath(entry: CheckedEntry): Promise<string> {
    const abs = await pathFor(entry);
    const info = await lstat(abs).catch(ignoreMissing);
    if (info?.isDirectory() === true) {
      throw new ArchiveRejectedError(
        "path-conflict",
        `entry "${entry.path}" is a ${entry.kind} but "${entry.path}" is already a directory`,
        entry.path,
      );
    }
    if (info !== undefined) await unlink(abs);
    return abs;
  }

  async function write(entry: CheckedEntry, data: ReadEntry, signal: AbortSignal): Promise<void> {
    switch (entry.kind) {
      case "directory":
        await ensureDir(entry.path, entry.path);
        data.resume();
        return;
      case "symlink": {
        await opening.get(entry.path);
        const abs = await clearPath(entry);
        await symlink(entry.linkpath, abs);
        created.push(abs);
        data.resume();
        return;
      }
      case "file": {
        const abs = await pathFor(entry);
        // Keep the execute bits, drop setuid/setgid/sticky; the owner can always read and write.
        const mode = ((entry.mode ?? 0o644) & 0o777) | 0o600;
        await files.room();
        await opening.get(entry.path);
        // Created exclusively: something already there (a file, a symlink: never written
        // through) is cleared as for a symlink entry, a directory refused.
        const file = files.create(abs, mode, {
          onExists: async () => void (await clearPath(entry)),
          onCreated: () => created.push(abs),
        });
        opening.set(entry.path, file.opened);
        void file.opened.then(() => {
          if (opening.get(entry.path) === file.opened) opening.delete(entry.path);
        });
        const hash = onFileHashed === undefined ? undefined : createHash("sha256");
        try {
          await copyEntry(data, signal, files, (chunk) => {
            hash?.update(chunk);
            return file.write(chunk);
          });
        } catch (error) {
          file.finish();
          throw error;
        }
        file.finish(entry.mtime);
        onFileHashed?.(
          entry.path,
          (hash as Hash).digest("hex"),
          entry.size,
          entry.mtime?.getTime(),
        );
        return;
      }
    }
  }

  // Removes `madeDir` (the directory the call made, with everything in it) or else each path
  // created. Only once nothing is still being opened or written: a file opened in the background
  // after the removal had listed its directory would survive it (rmdir then fails, ENOTEMPTY).
  async function undo(madeDir: string | undefined): Promise<void> {
    await files.drain().catch(() => undefined);
    if (madeDir !== undefined) await rm(madeDir, { recursive: true, force: true });
    else for (const path of created.reverse()) await rm(path, { recursive: true, force: true });
  }

  /** `settle` waits for the files still being written and throws the first write failure. */
  return { write, settle: () => files.drain(), undo };
}

// Hands an entry's chunks to `take` as they come ('data' events, no await per chunk), pausing
// the entry while `take` says the write queue is full.
function copyEntry(
  data: ReadEntry,
  signal: AbortSignal,
  files: WriteBehind,
  take: (chunk: Buffer) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (error: Error): void => {
      signal.removeEventListener("abort", onAbort);
      data.pause();
      data.removeListener("data", onData);
      reject(error);
    };
    const onAbort = (): void => stop(signal.reason as Error);
    const onData = (chunk: Buffer): void => {
      if (take(chunk)) return;
      data.pause();
      files.room().then(() => data.resume(), stop);
    };
    if (signal.aborted) return stop(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    data.on("data", onData);
    data.once("end", () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

function ignoreMissing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw error;
}
