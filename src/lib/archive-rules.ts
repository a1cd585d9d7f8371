// The acceptance rules for archive entries, listed at the top of archive.ts: path, type and link
// checks, the running limits, and the error every rejection carries.
import { posix } from "node:path";
import type { ReadEntry } from "tar";

export interface ArchiveLimits {
  /** Sum of the sizes of the regular files. */
  readonly maxBytes: number;
  /** Number of entries: files, directories and symlinks. */
  readonly maxFiles: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxBytes: 10 * 1024 ** 3,
  maxFiles: 100_000,
};

export type ArchiveRejectReason =
  | "absolute-path"
  | "parent-path"
  | "link-outside"
  | "hard-link"
  | "special-file"
  | "unsupported-entry"
  | "path-conflict"
  | "too-many-files"
  | "too-large"
  | "corrupt";

export class ArchiveRejectedError extends Error {
  readonly reason: ArchiveRejectReason;
  /** The offending entry's path, when one entry is to blame. */
  readonly entry: string | undefined;

  constructor(reason: ArchiveRejectReason, message: string, entry?: string) {
    super(message);
    this.name = "ArchiveRejectedError";
    this.reason = reason;
    this.entry = entry;
  }
}

/** Regular files and their total size. */
export interface ArchiveTotals {
  readonly files: number;
  readonly bytes: number;
}

export type EntryKind = "file" | "directory" | "symlink";

export interface CheckedEntry {
  readonly path: string;
  readonly kind: EntryKind;
  readonly size: number;
  readonly mode: number | undefined;
  readonly mtime: Date | undefined;
  readonly linkpath: string;
}

// Checks each entry's path, type and the running limits; tracks what each path is, so that
// nothing lands under a file or symlink of the same archive.
export function createEntryChecker(limits: ArchiveLimits) {
  const kinds = new Map<string, EntryKind>();
  let entries = 0;
  let files = 0;
  let bytes = 0;
  return {
    get entries() {
      return entries;
    },
    totals: (): ArchiveTotals => ({ files, bytes }),
    check(data: ReadEntry): CheckedEntry | undefined {
      const problem = describeUnsafePath(data.path);
      if (problem !== undefined) {
        const reason = problem.startsWith("is absolute") ? "absolute-path" : "parent-path";
        throw new ArchiveRejectedError(
          reason,
          `entry "${data.path}" ${problem}; archives may only hold paths inside their root`,
          data.path,
        );
      }
      const path = normalizeEntryPath(data.path);
      if (path === "") {
        if (data.type === "Directory") return undefined;
        throw new ArchiveRejectedError(
          "path-conflict",
          `entry "${data.path}" is a ${data.type} at the archive's root itself`,
          data.path,
        );
      }
      const entry = toCheckedEntry(data, path);
      checkConflicts(kinds, entry);
      entries += 1;
      if (entries > limits.maxFiles) throw tooMany(limits, path);
      if (entry.kind === "file") {
        files += 1;
        bytes += entry.size;
        if (bytes > limits.maxBytes) throw tooLarge(limits, entry, bytes);
      }
      return entry;
    },
  };
}

function toCheckedEntry(data: ReadEntry, path: string): CheckedEntry {
  const base = { path, size: data.size, mode: data.mode, mtime: data.mtime, linkpath: "" };
  switch (data.type) {
    case "File":
    case "OldFile":
    case "ContiguousFile":
      return { ...base, kind: "file" };
    case "Directory":
      return { ...base, kind: "directory", size: 0 };
    case "SymbolicLink": {
      const linkpath = data.linkpath ?? "";
      const problem = describeEscapingLink(path, linkpath);
      if (problem !== undefined) {
        throw new ArchiveRejectedError(
          "link-outside",
          `symlink "${path}" -> "${linkpath}" ${problem}; only relative links that stay inside the archive's root are allowed`,
          path,
        );
      }
      return { ...base, kind: "symlink", size: 0, linkpath };
    }
    case "Link":
      throw new ArchiveRejectedError(
        "hard-link",
        `entry "${path}" is a hard link to "${data.linkpath ?? ""}"; hard links are not allowed, store the file itself`,
        path,
      );
    case "CharacterDevice":
    case "BlockDevice":
    case "FIFO": {
      const what =
        data.type === "FIFO"
          ? "a FIFO"
          : `a ${data.type === "BlockDevice" ? "block" : "character"} device`;
      throw new ArchiveRejectedError(
        "special-file",
        `entry "${path}" is ${what}; only files, directories and symlinks are allowed`,
        path,
      );
    }
    case "GNUDumpDir":
    case "SparseFile":
    case "ContinuationFile":
    case "Inode":
    case "SolarisACL":
    case "TapeVolumeHeader":
    case "Unsupported":
    // Metadata entries never reach here: the parser folds them into the next entry.
    case "ExtendedHeader":
    case "GlobalExtendedHeader":
    case "OldExtendedHeader":
    case "NextFileHasLongLinkpath":
    case "NextFileHasLongPath":
    case "OldGnuLongPath":
      throw unsupported(data);
  }
}

function checkConflicts(kinds: Map<string, EntryKind>, entry: CheckedEntry): void {
  const parts = entry.path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const ancestor = parts.slice(0, i).join("/");
    const kind = kinds.get(ancestor);
    if (kind !== undefined && kind !== "directory") throw conflict(entry.path, ancestor, kind);
    kinds.set(ancestor, "directory");
  }
  const previous = kinds.get(entry.path);
  if (previous !== undefined && (previous === "directory") !== (entry.kind === "directory")) {
    throw new ArchiveRejectedError(
      "path-conflict",
      `entry "${entry.path}" is a ${entry.kind} but an earlier entry made it a ${previous}; each path may have one type`,
      entry.path,
    );
  }
  kinds.set(entry.path, entry.kind);
}

/** Why `path` is unsafe to extract, or undefined when it stays inside the root. */
export function describeUnsafePath(path: string): string | undefined {
  if (path.startsWith("/")) return "is absolute";
  if (path.split("/").includes("..")) return 'has a ".." segment';
  return undefined;
}

// Accepts only targets made of leading ".." then names: after a name, ".." would be resolved
// through whatever that name is (maybe another symlink), which a lexical check cannot follow.
export function describeEscapingLink(linkPath: string, target: string): string | undefined {
  if (target === "" || target.startsWith("/")) return "has an absolute or empty target";
  const parts = target.split("/").filter((part) => part !== "" && part !== ".");
  const climbs = parts.findIndex((part) => part !== "..");
  const ups = climbs === -1 ? parts.length : climbs;
  if (parts.slice(ups).includes("..")) return 'has ".." after a name in its target';
  const depth = linkPath.split("/").length - 1;
  if (ups > depth) return "points outside the archive's root";
  return undefined;
}

/** "./a//b/./c/" → "a/b/c", "./" → "": one spelling per path, for safe paths only. */
export function normalizeEntryPath(path: string): string {
  const normalized = posix.normalize(path).replace(/\/+$/, "");
  return normalized === "." ? "" : normalized;
}

export function unsupported(data: ReadEntry): ArchiveRejectedError {
  const what = data.meta
    ? `an oversized metadata header (${data.type})`
    : `of unsupported type ${data.type}`;
  return new ArchiveRejectedError(
    "unsupported-entry",
    `entry "${data.path}" is ${what}; only files, directories and symlinks are allowed`,
    data.path,
  );
}

export function corrupt(message: string): ArchiveRejectedError {
  return new ArchiveRejectedError(
    "corrupt",
    `not a valid tar or tar.gz archive (${message}); create it with tar, or tar and gzip`,
  );
}

export function conflict(path: string, ancestor: string, kind: string): ArchiveRejectedError {
  return new ArchiveRejectedError(
    "path-conflict",
    `entry "${path}" would be written under "${ancestor}", which is a ${kind}; paths may not go through files or symlinks`,
    path,
  );
}

function tooMany(limits: ArchiveLimits, path: string): ArchiveRejectedError {
  return new ArchiveRejectedError(
    "too-many-files",
    `entry "${path}" is one more than the limit of ${limits.maxFiles} entries (files, directories and symlinks)`,
    path,
  );
}

function tooLarge(limits: ArchiveLimits, entry: CheckedEntry, total: number): ArchiveRejectedError {
  return new ArchiveRejectedError(
    "too-large",
    `entry "${entry.path}" (${formatBytes(entry.size)}) brings the archive's files to ${formatBytes(total)}, over the limit of ${formatBytes(limits.maxBytes)} (${limits.maxBytes} bytes)`,
    entry.path,
  );
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
