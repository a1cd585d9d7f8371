// Live introspection of a running task, answered on its machine: list-files, tail, top,
// last-modified-file. Paths are relative to the task's working directory and never leave it:
// `..` and absolute paths are refused, and so is a symlink that resolves outside it.
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { FlotillaError, InvalidInputError } from "../domain/errors.js";
import { MAX_FOLLOW_WAIT_MS, readAppended, type FileChunk } from "./follow-file.js";
import { listProcessTree, type ProcessInfo } from "./process-table.js";

export type IntrospectCommand = "list-files" | "tail" | "top" | "last-modified-file";

/** What introspection needs to know about the task it looks at. */
export interface IntrospectTarget {
  readonly taskId: string;
  readonly workingDir: string;
  /** The task's stdout as kept on the machine (what `tail` shows without a path). */
  readonly stdoutLogPath: string;
  /** Process group of the command running now, if any. */
  readonly currentPgid: () => number | undefined;
}

export interface FileEntry {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly isDirectory: boolean;
}

const MAX_LISTED_FILES = 100_000;
const MAX_TAIL_LINES = 10_000;
const MAX_TAIL_BYTES = 8 * 1024 * 1024;

/** Answers one introspection command; throws FlotillaError with a code the server relays. */
export async function introspectTask(
  target: IntrospectTarget,
  command: IntrospectCommand,
  args: Readonly<Record<string, unknown>>,
): Promise<unknown> {
  switch (command) {
    case "list-files":
      return listFiles(target.workingDir);
    case "tail":
      return tail(target, args);
    case "top":
      return top(target);
    case "last-modified-file":
      return lastModifiedFile(target);
  }
}

/** Every file and directory under `root`, recursively, sorted by path; symlinks are not followed. */
export async function listFiles(root: string): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return; // removed while we walked: the task is changing its own files
    }
    for (const name of names) {
      if (entries.length >= MAX_LISTED_FILES) return;
      const full = join(dir, name);
      // lstat: a symlink is listed as itself and never followed, so a loop cannot trap the walk.
      const info = await lstat(full).catch(() => undefined);
      if (info === undefined) continue;
      const path = relative(root, full).split(sep).join("/");
      entries.push({
        path,
        size: info.size,
        mtimeMs: info.mtimeMs,
        isDirectory: info.isDirectory(),
      });
      if (info.isDirectory()) await walk(full);
    }
  };
  await walk(root);
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Resolves a user-given relative path inside `root`; INVALID_INPUT if it would leave it. */
export async function resolveInside(root: string, path: string): Promise<string> {
  const parts = path.split(/[\\/]+/);
  if (path === "" || isAbsolute(path) || parts.includes("..")) {
    throw new InvalidInputError(
      `path "${path}" must be relative to the task's working directory, without ".."`,
    );
  }
  const full = join(root, path);
  let real: string;
  try {
    real = await realpath(full);
  } catch {
    throw new FlotillaError("FILE_NOT_FOUND", `no file ${path} in the task's working directory`);
  }
  const realRoot = await realpath(root);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw new InvalidInputError(`path "${path}" leads outside the task's working directory`);
  }
  return real;
}

/** A tail: the last lines, and `size`, the byte offset a follow continues from. */
export interface TailResult {
  readonly path: string;
  readonly lines: string[];
  readonly size: number;
}

/**
 * `tail` args: `{ lines, path }` answers the last lines; with `offset` (a follow step) it answers
 * the text appended past `offset`, waiting up to `waitMs` for some (see follow-file.ts).
 */
async function tail(
  target: IntrospectTarget,
  args: Readonly<Record<string, unknown>>,
): Promise<TailResult | FileChunk> {
  const given = typeof args.path === "string" && args.path !== "" ? args.path : undefined;
  const file =
    given === undefined ? target.stdoutLogPath : await resolveInside(target.workingDir, given);
  const shownPath = given ?? "stdout";
  if (args.offset !== undefined) return followStep(file, shownPath, args);
  // The server sends a number; a string from a hand-written request is accepted too.
  const requested = Number(args.lines ?? 10);
  const count =
    Number.isFinite(requested) && requested >= 1
      ? Math.min(Math.floor(requested), MAX_TAIL_LINES)
      : 10;
  const info = await stat(file).catch(() => undefined);
  if (info === undefined) {
    // No stdout yet is an empty tail, not an error: the command may not have printed anything.
    if (given === undefined) return { path: shownPath, lines: [], size: 0 };
    throw new FlotillaError(
      "FILE_NOT_FOUND",
      `no file ${shownPath} in the working directory of task ${target.taskId}`,
    );
  }
  if (!info.isFile())
    throw new InvalidInputError(`${shownPath} is not a text file (it is a directory or device)`);
  const text = await readTail(file, info.size, count);
  if (text.includes("\0")) throw new InvalidInputError(`${shownPath} is not a text file`);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return { path: shownPath, lines: lines.slice(-count), size: info.size };
}

/** One step of a follow: what was appended past `args.offset`, waiting up to `args.waitMs`. */
function followStep(
  file: string,
  shownPath: string,
  args: Readonly<Record<string, unknown>>,
): Promise<FileChunk> {
  const offset = Number(args.offset);
  const waitMs = Number(args.waitMs ?? 0);
  if (!Number.isInteger(offset) || offset < 0 || !Number.isFinite(waitMs)) {
    throw new InvalidInputError("tail offset must be a byte offset and waitMs a number");
  }
  return readAppended(file, shownPath, offset, Math.min(Math.max(waitMs, 0), MAX_FOLLOW_WAIT_MS));
}

/** Reads backwards from the end until `count` full lines (or the start, or MAX_TAIL_BYTES). */
async function readTail(file: string, size: number, count: number): Promise<string> {
  const handle = await open(file, "r");
  try {
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    while (position > 0 && newlines <= count && size - position < MAX_TAIL_BYTES) {
      const length = Math.min(64 * 1024, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      const read = chunk.subarray(0, bytesRead);
      for (const byte of read) if (byte === 0x0a) newlines += 1;
      chunks.unshift(read);
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    await handle.close();
  }
}

function top(target: IntrospectTarget): Omit<ProcessInfo, "pgid">[] {
  const pgid = target.currentPgid();
  if (pgid === undefined) return [];
  return listProcessTree(pgid).map(({ pid, ppid, command, state, cpuSeconds, rssBytes }) => ({
    pid,
    ppid,
    command,
    state,
    cpuSeconds,
    rssBytes,
  }));
}

async function lastModifiedFile(
  target: IntrospectTarget,
): Promise<{ path: string; mtimeMs: number; nowMs: number }> {
  const files = (await listFiles(target.workingDir)).filter((entry) => !entry.isDirectory);
  let newest: FileEntry | undefined;
  for (const file of files)
    if (newest === undefined || file.mtimeMs > newest.mtimeMs) newest = file;
  if (newest === undefined) {
    throw new FlotillaError(
      "FILE_NOT_FOUND",
      `task ${target.taskId} has no files in its working directory yet`,
    );
  }
  return { path: newest.path, mtimeMs: newest.mtimeMs, nowMs: Date.now() };
}
