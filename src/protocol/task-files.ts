/**
 * Bodies of the live introspection routes (`/api/v1/tasks/:id/files`, `/tail`, `/top`,
 * `/last-modified-file`). While the task is `started` the machine that runs it answers, relayed
 * through its control channel; once it has ended, the server answers from the stored outputs.
 */
import { z } from "zod";

/** One file or directory of the task's working directory (paths relative to it, `/`-separated). */
export const TaskFileView = z.object({
  path: z.string(),
  size: z.number(),
  mtimeMs: z.number().optional(),
  isDirectory: z.boolean(),
});
/** One file or directory of the task's working directory. */
export type TaskFileView = z.infer<typeof TaskFileView>;

/** Body of `GET /api/v1/tasks/:id/files`: every entry, sorted by path. */
export const TaskFilesView = z.object({ files: z.array(TaskFileView) });
/** Body of `GET /api/v1/tasks/:id/files`. */
export type TaskFilesView = z.infer<typeof TaskFilesView>;

/**
 * Query of `GET /api/v1/tasks/:id/tail`: the last `lines` lines of `path` (stdout when absent).
 * With `follow=1` the answer is a `text/plain` stream: those lines, then every appended byte
 * until the task ends.
 */
export const TailQuery = z.strictObject({
  lines: z.coerce.number().int().min(1).max(10_000).default(10),
  path: z.string().min(1).max(4096).optional(),
  follow: z.enum(["0", "1", "true", "false"]).optional(),
  /** With follow: resume at this byte offset, without the last lines. */
  offset: z.coerce.number().int().min(0).optional(),
});
/** Query of `GET /api/v1/tasks/:id/tail`. */
export type TailQuery = z.infer<typeof TailQuery>;

/**
 * Header of a `tail?follow=1` answer: the byte offset in the file where the appended part starts
 * (after the last lines). A client that lost the stream resumes with `offset=<this + bytes it got
 * after the head>`.
 */
export const FOLLOW_OFFSET_HEADER = "x-flotilla-follow-offset";
/** Header of a `tail?follow=1` answer: how many bytes the last lines (the head) take. */
export const HEAD_BYTES_HEADER = "x-flotilla-head-bytes";

/** Body of `GET /api/v1/tasks/:id/tail` without follow. */
export const TailView = z.object({
  path: z.string(),
  lines: z.array(z.string()),
  /** Byte offset of the end of what was read (live answers only). */
  size: z.number().optional(),
});
/** Body of `GET /api/v1/tasks/:id/tail`. */
export type TailView = z.infer<typeof TailView>;

/** One process of the running task (its process group, on its machine). */
export const TaskProcessView = z.object({
  pid: z.number(),
  ppid: z.number(),
  command: z.string(),
  /** One letter as in ps: R running, S sleeping, D disk wait, Z zombie, T stopped. */
  state: z.string(),
  cpuSeconds: z.number(),
  rssBytes: z.number(),
});
/** One process of the running task. */
export type TaskProcessView = z.infer<typeof TaskProcessView>;

/** Body of `GET /api/v1/tasks/:id/top`. */
export const TaskTopView = z.object({ processes: z.array(TaskProcessView) });
/** Body of `GET /api/v1/tasks/:id/top`. */
export type TaskTopView = z.infer<typeof TaskTopView>;

/** Body of `GET /api/v1/tasks/:id/last-modified-file`; `nowMs` is the answering clock. */
export const LastModifiedFileView = z.object({
  path: z.string(),
  mtimeMs: z.number().optional(),
  nowMs: z.number(),
});
/** Body of `GET /api/v1/tasks/:id/last-modified-file`. */
export type LastModifiedFileView = z.infer<typeof LastModifiedFileView>;

/**
 * Args of the `tail` introspect control message (runner protocol): `{ path?, lines }` asks for
 * the last lines; `{ path?, offset, waitMs }` is one step of a follow: the runner answers with
 * {@link FileChunkView} as soon as the file grows past `offset`, or after `waitMs` with nothing.
 */
export const TailIntrospectArgs = z.object({
  path: z.string().optional(),
  lines: z.number().int().min(1).optional(),
  offset: z.number().int().min(0).optional(),
  waitMs: z.number().int().min(0).max(30_000).optional(),
});
/** Args of the `tail` introspect control message. */
export type TailIntrospectArgs = z.infer<typeof TailIntrospectArgs>;

/** The runner's answer to one follow step: bytes [offset, nextOffset) of the file, as text. */
export const FileChunkView = z.object({
  path: z.string(),
  offset: z.number(),
  nextOffset: z.number(),
  text: z.string(),
  /** The file got shorter than the offset asked for: `text` starts again at byte 0. */
  truncated: z.boolean(),
});
/** The runner's answer to one follow step. */
export type FileChunkView = z.infer<typeof FileChunkView>;
