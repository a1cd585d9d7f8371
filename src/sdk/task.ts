/**
 * The task handle: what `simulator.run()` and `tasks.get()` return (seed "Task Management").
 * It caches the last record it fetched; every method that talks to the server refreshes it.
 */
import { Readable } from "node:stream";
import { join, resolve } from "node:path";
import { loadOutputRoot } from "../config/client-config.js";
import { FlotillaError, NotFoundError } from "../domain/errors.js";
import type { TaskStatus } from "../domain/task-status.js";
import { unpackArchive, type ArchiveLimits } from "../lib/archive.js";
import type { KillView, OutputFileView, OutputManifestView, TaskView } from "../protocol/tasks.js";
import { getDefaultClient, type Flotilla } from "./client.js";
import { noticeOnInterrupt } from "./interrupt-notice.js";

/** How long one long poll of `wait()` lasts. */
const POLL_MS = 60_000;
/** Extra time before a long poll that got no answer counts as a lost connection. */
const POLL_SLACK_MS = 15_000;
const RETRY_INITIAL_MS = 250;
const RETRY_MAX_MS = 5_000;

/** Options of {@link Task.wait}. */
export interface WaitOptions {
  /** Give up after this long and resolve with the task as it is then (not terminal). */
  readonly timeoutMs?: number | undefined;
  /** Abort the wait (rejects with the signal's reason); the task keeps running. */
  readonly signal?: AbortSignal | undefined;
  /** Called with the record each time a new status is seen, starting with the current one. */
  readonly onStatus?: ((view: TaskView) => void) | undefined;
}

/** Options of {@link Task.downloadOutputs}. */
export interface DownloadOutputsOptions {
  /** Only these output files (paths as in the manifest); all files when omitted. */
  readonly files?: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Called as the archive arrives: bytes received so far and the expected size of the archive
   * (estimated from the manifest: file sizes plus tar headers).
   */
  readonly onProgress?: ((receivedBytes: number, expectedBytes: number) => void) | undefined;
}

/** Options of {@link Task.getLogs}. */
export interface GetLogsOptions {
  /** Which stream (default stdout). */
  readonly stream?: "stdout" | "stderr" | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * One task on a flotilla server.
 *
 * @example
 * ```ts
 * const task = await simulators.custom().run("input/", { commands: [["python3", "sim.py"]] });
 * const final = await task.wait();
 * if (final.status === "success") await task.downloadOutputs("results/");
 * else console.error(`task ${task.id} ${final.status}: ${final.reason ?? ""}`);
 * ```
 */
export class Task {
  /** The task id (15 characters, sortable by creation time). */
  readonly id: string;
  #view: TaskView;
  #client: Flotilla | undefined;

  /** A handle on the task `view` describes; `client` defaults to the default client. */
  constructor(view: TaskView, client?: Flotilla) {
    this.id = view.id;
    this.#view = view;
    this.#client = client;
  }

  /** The status in the last fetched record: one of the seven statuses, never "completed". */
  get status(): TaskStatus {
    return this.#view.status;
  }

  /** The last fetched record; {@link Task.getInfo} fetches a fresh one. */
  get info(): TaskView {
    return this.#view;
  }

  /** The machine group the task runs on. */
  get machineGroup(): string {
    return this.#view.machineGroup;
  }

  /**
   * Waits until the task is terminal and resolves with its final record. A failed or killed task
   * resolves too (a failed simulation is data): check `status`. Uses 60 s long polls; while the
   * server is unreachable it retries with backoff (up to 5 s between tries). Ctrl-C ends the
   * program with code 130 and leaves the task running, saying how to follow, wait for or kill it.
   * With `timeoutMs`, resolves with the record as it is then, which may not be terminal.
   *
   * @example
   * ```ts
   * const final = await task.wait({ onStatus: (view) => console.log(`${task.id} ${view.status}`) });
   * console.log(final.status, final.exitCode);
   * ```
   */
  async wait(options: WaitOptions = {}): Promise<TaskView> {
    const stopNotice = noticeOnInterrupt({ id: this.id, machineGroup: this.#view.machineGroup });
    try {
      return await this.#waitUntilTerminal(options);
    } finally {
      stopNotice();
    }
  }

  async #waitUntilTerminal(options: WaitOptions): Promise<TaskView> {
    const { signal, onStatus } = options;
    const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
    const client = await this.#getClient();
    let reported: TaskStatus | undefined;
    const see = (view: TaskView | undefined): void => {
      if (view === undefined) return;
      this.#view = view;
      if (view.status === reported) return;
      reported = view.status;
      onStatus?.(view);
    };
    if (onStatus !== undefined && !this.#view.isTerminal) {
      see(
        await retryWhileUnavailable(
          (s) => client.getTask(this.id, { signal: s }),
          deadline,
          signal,
        ),
      );
    } else {
      see(this.#view);
    }
    while (!this.#view.isTerminal && Date.now() < deadline) {
      const pollMs = Math.min(POLL_MS, deadline - Date.now());
      const view = await retryWhileUnavailable(
        // With onStatus, the server answers at every status change, not only at the end.
        (attemptSignal) =>
          client.waitTask(
            this.id,
            pollMs,
            attemptSignal,
            onStatus === undefined ? undefined : reported,
          ),
        deadline,
        signal,
        pollMs + POLL_SLACK_MS,
      );
      see(view);
    }
    return this.#view;
  }

  /**
   * Kills the task in any non-terminal state. `result` is `killed` when it is now killed, or
   * `kill-requested` when its machine was told and will confirm (then `wait()` for `killed`).
   * Killing a killed task answers `killed` again; a task that ended `success` or `failed` is a
   * `TASK_ALREADY_FINISHED` error.
   *
   * @example
   * ```ts
   * const { result } = await task.kill();
   * ```
   */
  async kill(): Promise<KillView> {
    const killed = await (await this.#getClient()).killTask(this.id);
    this.#view = killed.task;
    return killed;
  }

  /**
   * Fetches the task's current record (and caches it in {@link Task.info}).
   *
   * @example
   * ```ts
   * const info = await task.getInfo();
   * console.log(info.status, info.metrics.computationMs);
   * ```
   */
  async getInfo(): Promise<TaskView> {
    this.#view = await (await this.#getClient()).getTask(this.id);
    return this.#view;
  }

  /**
   * How many tasks of its machine group are ahead of this one (0 = next), or undefined once it
   * is no longer queued.
   *
   * @example
   * ```ts
   * const ahead = await task.getPositionInQueue();
   * if (ahead !== undefined) console.log(`${ahead} tasks ahead`);
   * ```
   */
  async getPositionInQueue(): Promise<number | undefined> {
    const position = await (await this.#getClient()).getPosition(this.id);
    return position.queuePosition ?? undefined;
  }

  /**
   * Downloads the outputs into `dir` and checks every file's sha256 against the manifest.
   * The default `dir` is `<FLOTILLA_OUTPUT_DIR or ./flotilla-output>/<task id>/outputs`. Files
   * already there are replaced. A task that has not ended has no outputs yet: the server answers
   * `OUTPUTS_NOT_AVAILABLE`. Resolves with the absolute directory path.
   *
   * @example
   * ```ts
   * const dir = await task.downloadOutputs("results/run-1", { files: ["summary.csv"] });
   * ```
   */
  async downloadOutputs(dir?: string, options: DownloadOutputsOptions = {}): Promise<string> {
    const client = await this.#getClient();
    const target = resolve(dir ?? join(loadOutputRoot(), this.id, "outputs"));
    const signal = options.signal;
    const manifest = await client.getOutputManifest(this.id, { signal });
    const files =
      options.files !== undefined && options.files.length > 0 ? options.files : undefined;
    const expected = selectOutputFiles(manifest, files);
    const response = await client.openOutputArchive(this.id, files, { signal });
    if (response.body === null) throw this.#corruptDownload("the server sent an empty answer");
    const body = withProgress(response.body, estimateTarBytes(expected), options.onProgress);
    const source = Readable.fromWeb(body);
    const hashes = new Map<string, string>();
    try {
      // Hashed while written: verifying does not read the files again.
      await unpackArchive(source, target, limitsFor(expected), {
        onFileHashed: (path, sha256) => hashes.set(path, sha256),
      });
    } catch (error) {
      source.destroy();
      if (error instanceof FlotillaError || signal?.aborted === true) throw error;
      throw this.#corruptDownload(`the archive was refused: ${(error as Error).message}`, error);
    }
    verifyOutputFiles(hashes, expected, this.id);
    return target;
  }

  /**
   * The task's stdout (or stderr) as stored so far.
   *
   * @example
   * ```ts
   * console.log(await task.getLogs({ stream: "stderr" }));
   * ```
   */
  async getLogs(options: GetLogsOptions = {}): Promise<string> {
    const client = await this.#getClient();
    const response = await client.openLogs(this.id, {
      stream: options.stream,
      signal: options.signal,
    });
    return response.text();
  }

  async #getClient(): Promise<Flotilla> {
    this.#client ??= await getDefaultClient();
    return this.#client;
  }

  #corruptDownload(why: string, cause?: unknown): FlotillaError {
    return new FlotillaError(
      "INTERNAL",
      `downloading the outputs of task ${this.id} failed: ${why}; download again with \`flotilla tasks download ${this.id}\``,
      { cause },
    );
  }
}

/**
 * Runs `attempt` until it answers, retrying with backoff (up to 5 s) while the server is
 * unreachable. Resolves undefined when the deadline passes first. `attemptTimeoutMs` bounds one
 * attempt (a long poll on a dead connection); the user's signal aborts for good.
 */
async function retryWhileUnavailable<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  attemptTimeoutMs?: number,
): Promise<T | undefined> {
  let delayMs = RETRY_INITIAL_MS;
  for (;;) {
    const limits = [
      signal,
      attemptTimeoutMs === undefined ? undefined : AbortSignal.timeout(attemptTimeoutMs),
    ];
    const attemptSignal = AbortSignal.any(limits.filter((s): s is AbortSignal => s !== undefined));
    try {
      return await attempt(attemptSignal);
    } catch (error) {
      signal?.throwIfAborted();
      const lost =
        error instanceof FlotillaError ? error.code === "UNAVAILABLE" : attemptSignal.aborted;
      if (!lost) throw error;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return undefined;
    await sleep(Math.min(delayMs, remaining), signal);
    delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolvePromise();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function selectOutputFiles(
  manifest: OutputManifestView,
  files: readonly string[] | undefined,
): OutputFileView[] {
  if (files === undefined) return manifest.files;
  const byPath = new Map(manifest.files.map((file) => [file.path, file]));
  return [...new Set(files)].map((path) => {
    const file = byPath.get(path);
    if (file === undefined) {
      throw new NotFoundError(
        "FILE_NOT_FOUND",
        `task ${manifest.taskId} has no output file ${path}; list them with \`flotilla tasks list-files ${manifest.taskId}\``,
      );
    }
    return file;
  });
}

function withProgress(
  body: ReadableStream<Uint8Array>,
  expectedBytes: number,
  onProgress: DownloadOutputsOptions["onProgress"],
): ReadableStream<Uint8Array> {
  if (onProgress === undefined) return body;
  let received = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        onProgress(received, Math.max(expectedBytes, received));
        controller.enqueue(chunk);
      },
    }),
  );
}

// A tar entry is a 512-byte header plus the content padded to 512; the archive ends with 1 KiB.
function estimateTarBytes(files: readonly OutputFileView[]): number {
  const dirs = new Set<string>();
  let bytes = 1024;
  for (const file of files) {
    bytes += 512 + Math.ceil(file.size / 512) * 512;
    const parts = file.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return bytes + dirs.size * 512;
}

// The archive must hold exactly the manifest's files: limits from the manifest refuse anything
// bigger before it is written.
function limitsFor(files: readonly OutputFileView[]): ArchiveLimits {
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const maxBytes = files.reduce((sum, file) => sum + file.size, 0);
  return { maxBytes: Math.max(maxBytes, 1), maxFiles: files.length + dirs.size + 1 };
}

function verifyOutputFiles(
  hashes: ReadonlyMap<string, string>,
  files: readonly OutputFileView[],
  taskId: string,
): void {
  for (const file of files) {
    const actual = hashes.get(file.path);
    if (actual !== file.sha256) {
      throw new FlotillaError(
        "INTERNAL",
        `output file ${file.path} of task ${taskId} ${actual === undefined ? "is missing" : "does not match its sha256 in the manifest"} after download; download again with \`flotilla tasks download ${taskId}\``,
        { details: { taskId, path: file.path, expected: file.sha256, actual } },
      );
    }
  }
}
