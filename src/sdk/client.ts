/**
 * The typed client: one method per route of the HTTP API (DESIGN.md "HTTP API"), each answer
 * parsed with the protocol's zod schema. Handles (`Task`, `MachineGroup`, `Simulator`) are built
 * on it; most programs never call it directly.
 */
import { Readable } from "node:stream";
import {
  ClientConfigError,
  loadClientSettings,
  type ClientOptions,
} from "../config/client-config.js";
import { InvalidInputError } from "../domain/errors.js";
import type { TaskStatus } from "../domain/task-status.js";
import { packDirectory } from "../lib/archive.js";
import {
  MachineGroupListView,
  MachineGroupView,
  RunnerTokenView,
  type CreateMachineGroupRequest,
} from "../protocol/machine-groups.js";
import {
  LastModifiedFileView,
  TailView,
  TaskFilesView,
  TaskTopView,
} from "../protocol/task-files.js";
import {
  KillView,
  OutputManifestView,
  PositionView,
  ProjectListView,
  SimulatorListView,
  TaskListView,
  TaskView,
  type CreateTaskRequest,
} from "../protocol/tasks.js";
import { ensureDefaultServer } from "./embedded.js";
import { HttpClient, type ServerConnection } from "./http-client.js";
import { uploadWithRetry } from "./upload-retry.js";

/** Filters and paging of {@link Flotilla.listTasks}. */
export interface ListTasksOptions {
  /** One status or several (any of them matches). */
  readonly status?: TaskStatus | readonly TaskStatus[] | undefined;
  readonly project?: string | undefined;
  readonly machineGroup?: string | undefined;
  /** Page size, 1 to 1000 (server default 50). */
  readonly limit?: number | undefined;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link Flotilla.openLogs}. */
export interface OpenLogsOptions {
  /** Which stream (default stdout). */
  readonly stream?: "stdout" | "stderr" | undefined;
  /** Keep the response open and stream new output until the task ends. */
  readonly follow?: boolean | undefined;
  /** Start at this byte offset. */
  readonly offset?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link Flotilla.tailTask} and {@link Flotilla.openTailFollow}. */
export interface TailOptions {
  /** A file of the task's working directory (relative path); the task's stdout when absent. */
  readonly path?: string | undefined;
  /** How many of the last lines (default 10). */
  readonly lines?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Options of calls that may be cancelled. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/**
 * A client bound to one flotilla server.
 *
 * @example
 * ```ts
 * import { Flotilla } from "flotilla";
 *
 * const client = await Flotilla.connect(); // FLOTILLA_URL, credentials file, or the embedded server
 * const { tasks } = await client.listTasks({ status: "started", limit: 10 });
 * ```
 */
export class Flotilla {
  /** The transport, for routes this class does not cover yet. */
  readonly http: HttpClient;

  /** A client for the server at `connection.url`, authenticating with `connection.token`. */
  constructor(connection: ServerConnection) {
    this.http = new HttpClient(connection);
  }

  /** Where this client connects. */
  get connection(): ServerConnection {
    return this.http.connection;
  }

  /**
   * Connects as configured: explicit options, then `FLOTILLA_URL`/`FLOTILLA_TOKEN`, then
   * `~/.config/flotilla/credentials.json`, then the embedded default server in `~/.flotilla`
   * (started as a detached process when it is not running). Nothing is sent to the server yet.
   *
   * @example
   * ```ts
   * const client = await Flotilla.connect({ url: "http://cluster-head:7878", token: process.env.TOKEN });
   * ```
   */
  static async connect(options: ClientOptions = {}): Promise<Flotilla> {
    let settings;
    try {
      settings = loadClientSettings(options);
    } catch (error) {
      if (error instanceof ClientConfigError) throw new InvalidInputError(error.message);
      throw error;
    }
    if (settings.kind === "remote")
      return new Flotilla({ url: settings.url, token: settings.token });
    const connection = await ensureDefaultServer(
      settings.dataDir,
      settings.credentialsFile,
      settings.port,
    );
    return new Flotilla({ url: connection.url, token: settings.token ?? connection.token });
  }

  /** Creates a task in `pending-input` (`POST /tasks`). */
  async createTask(request: CreateTaskRequest, options: CallOptions = {}): Promise<TaskView> {
    return this.http.json(TaskView, "/tasks", {
      method: "POST",
      json: request,
      signal: options.signal,
    });
  }

  /**
   * Streams `inputDir` as a tar.gz to the task (`PUT /tasks/:id/input`); the task is then
   * `in-queue`. The archive is packed while it is sent, never held in memory whole. An upload cut
   * by an unreachable server is sent again (for about a minute).
   */
  async uploadInput(id: string, inputDir: string, options: CallOptions = {}): Promise<TaskView> {
    return uploadWithRetry(
      () => this.#uploadOnce(id, inputDir, options),
      () => this.getTask(id, options),
      options.signal,
    );
  }

  async #uploadOnce(id: string, inputDir: string, options: CallOptions): Promise<TaskView> {
    const archive = packDirectory(inputDir, { gzip: true });
    let packError: Error | undefined;
    archive.once("error", (error) => (packError = error));
    try {
      return await this.http.json(TaskView, `/tasks/${encodeURIComponent(id)}/input`, {
        method: "PUT",
        body: Readable.toWeb(archive) as ReadableStream<Uint8Array>,
        contentType: "application/gzip",
        signal: options.signal,
      });
    } catch (error) {
      // A file that cannot be read breaks the request; say so instead of "cannot reach the server".
      if (packError !== undefined) {
        throw new InvalidInputError(
          `cannot read input directory ${inputDir}: ${packError.message}`,
        );
      }
      throw error;
    } finally {
      archive.destroy();
    }
  }

  /** The task record (`GET /tasks/:id`). */
  async getTask(id: string, options: CallOptions = {}): Promise<TaskView> {
    return this.http.json(TaskView, `/tasks/${encodeURIComponent(id)}`, { signal: options.signal });
  }

  /** One page of tasks, newest first (`GET /tasks`). */
  async listTasks(options: ListTasksOptions = {}): Promise<TaskListView> {
    const status =
      options.status === undefined ? undefined : ([] as TaskStatus[]).concat(options.status);
    return this.http.json(TaskListView, "/tasks", {
      query: {
        status,
        project: options.project,
        machineGroup: options.machineGroup,
        limit: options.limit,
        cursor: options.cursor,
      },
      signal: options.signal,
    });
  }

  /**
   * Long-polls until the task is terminal or `timeoutMs` passed (`GET /tasks/:id/wait`);
   * answers the task as it is then, terminal or not.
   */
  async waitTask(
    id: string,
    timeoutMs: number,
    signal?: AbortSignal,
    changedFrom?: TaskStatus,
  ): Promise<TaskView> {
    return this.http.json(TaskView, `/tasks/${encodeURIComponent(id)}/wait`, {
      query: { timeoutMs: Math.max(0, Math.round(timeoutMs)), status: changedFrom },
      signal,
    });
  }

  /** The task's place in its machine group's queue (`GET /tasks/:id/position`). */
  async getPosition(id: string, options: CallOptions = {}): Promise<PositionView> {
    return this.http.json(PositionView, `/tasks/${encodeURIComponent(id)}/position`, {
      signal: options.signal,
    });
  }

  /** Kills the task in any non-terminal state; idempotent (`POST /tasks/:id/kill`). */
  async killTask(id: string, options: CallOptions = {}): Promise<KillView> {
    return this.http.json(KillView, `/tasks/${encodeURIComponent(id)}/kill`, {
      method: "POST",
      signal: options.signal,
    });
  }

  /** Path, size and sha256 of every output file (`GET /tasks/:id/outputs`). */
  async getOutputManifest(id: string, options: CallOptions = {}): Promise<OutputManifestView> {
    return this.http.json(OutputManifestView, `/tasks/${encodeURIComponent(id)}/outputs`, {
      signal: options.signal,
    });
  }

  /** A tar stream of all outputs or of `files` (`GET /tasks/:id/outputs/archive`). */
  async openOutputArchive(
    id: string,
    files?: readonly string[],
    options: CallOptions = {},
  ): Promise<Response> {
    return this.http.fetch(`/tasks/${encodeURIComponent(id)}/outputs/archive`, {
      query: { files: files === undefined || files.length === 0 ? undefined : files },
      signal: options.signal,
    });
  }

  /**
   * The task's stdout or stderr as a text stream (`GET /tasks/:id/logs`); with `follow`, the
   * stream stays open and ends when the task ends.
   */
  async openLogs(id: string, options: OpenLogsOptions = {}): Promise<Response> {
    return this.http.fetch(`/tasks/${encodeURIComponent(id)}/logs`, {
      query: {
        stream: options.stream ?? "stdout",
        follow: options.follow === true ? "1" : undefined,
        offset: options.offset,
      },
      signal: options.signal,
    });
  }

  /**
   * The files of the task's working directory: live from its machine while it runs, its stored
   * outputs once it has ended (`GET /tasks/:id/files`).
   */
  async listTaskFiles(id: string, options: CallOptions = {}): Promise<TaskFilesView> {
    return this.http.json(TaskFilesView, `/tasks/${encodeURIComponent(id)}/files`, {
      signal: options.signal,
    });
  }

  /** The last lines of the task's stdout or of one of its files (`GET /tasks/:id/tail`). */
  async tailTask(id: string, options: TailOptions = {}): Promise<TailView> {
    return this.http.json(TailView, `/tasks/${encodeURIComponent(id)}/tail`, {
      query: { lines: options.lines, path: options.path },
      signal: options.signal,
    });
  }

  /**
   * `tail -f` as a text stream (`GET /tasks/:id/tail?follow=1`): the last lines, then every
   * appended byte, pushed as it is written, until the task ends. With `offset`, resumes a broken
   * stream at that byte offset of the file (headers `FOLLOW_OFFSET_HEADER`, `HEAD_BYTES_HEADER`).
   */
  async openTailFollow(
    id: string,
    options: TailOptions & { readonly offset?: number | undefined } = {},
  ): Promise<Response> {
    return this.http.fetch(`/tasks/${encodeURIComponent(id)}/tail`, {
      query: { lines: options.lines, path: options.path, follow: "1", offset: options.offset },
      signal: options.signal,
    });
  }

  /** The processes of the running task, from its machine (`GET /tasks/:id/top`). */
  async getTaskTop(id: string, options: CallOptions = {}): Promise<TaskTopView> {
    return this.http.json(TaskTopView, `/tasks/${encodeURIComponent(id)}/top`, {
      signal: options.signal,
    });
  }

  /** The task's most recently modified file (`GET /tasks/:id/last-modified-file`). */
  async getLastModifiedFile(id: string, options: CallOptions = {}): Promise<LastModifiedFileView> {
    return this.http.json(
      LastModifiedFileView,
      `/tasks/${encodeURIComponent(id)}/last-modified-file`,
      { signal: options.signal },
    );
  }

  /** Which simulators the running machines of each group reported (`GET /simulators`). */
  async listSimulators(options: CallOptions = {}): Promise<SimulatorListView> {
    return this.http.json(SimulatorListView, "/simulators", { signal: options.signal });
  }

  /** Creates a machine group and starts its machines (`POST /machine-groups`). */
  async createMachineGroup(
    request: CreateMachineGroupRequest,
    options: CallOptions = {},
  ): Promise<MachineGroupView> {
    return this.http.json(MachineGroupView, "/machine-groups", {
      method: "POST",
      json: request,
      signal: options.signal,
    });
  }

  /** Every machine group visible to this token (`GET /machine-groups`). */
  async listMachineGroups(options: CallOptions = {}): Promise<MachineGroupListView> {
    return this.http.json(MachineGroupListView, "/machine-groups", { signal: options.signal });
  }

  /** One machine group with its machines (`GET /machine-groups/:name`). */
  async getMachineGroup(name: string, options: CallOptions = {}): Promise<MachineGroupView> {
    return this.http.json(MachineGroupView, `/machine-groups/${encodeURIComponent(name)}`, {
      signal: options.signal,
    });
  }

  /**
   * A token with which a runner started by hand joins the group
   * (`POST /machine-groups/:name/runner-tokens`); it may only run that group's tasks.
   */
  async createRunnerToken(name: string, options: CallOptions = {}): Promise<RunnerTokenView> {
    return this.http.json(
      RunnerTokenView,
      `/machine-groups/${encodeURIComponent(name)}/runner-tokens`,
      { method: "POST", signal: options.signal },
    );
  }

  /** Kills the group's tasks and stops its machines (`DELETE /machine-groups/:name`). */
  async terminateMachineGroup(name: string, options: CallOptions = {}): Promise<MachineGroupView> {
    return this.http.json(MachineGroupView, `/machine-groups/${encodeURIComponent(name)}`, {
      method: "DELETE",
      signal: options.signal,
    });
  }

  /** Projects with their task counts (`GET /projects`). */
  async listProjects(options: CallOptions = {}): Promise<ProjectListView> {
    return this.http.json(ProjectListView, "/projects", { signal: options.signal });
  }
}

let defaultClient: Promise<Flotilla> | undefined;

/**
 * The client the handles use when none is given: `Flotilla.connect()` on first use, then the
 * same one. A failed connect is not remembered; the next call tries again.
 *
 * @example
 * ```ts
 * const client = await getDefaultClient();
 * ```
 */
export function getDefaultClient(): Promise<Flotilla> {
  if (defaultClient === undefined) {
    const connecting = Flotilla.connect();
    defaultClient = connecting;
    connecting.catch(() => {
      if (defaultClient === connecting) defaultClient = undefined;
    });
  }
  return defaultClient;
}

/**
 * Replaces the default client (or forgets it with `undefined`, so the next use connects again).
 *
 * @example
 * ```ts
 * setDefaultClient(new Flotilla({ url: "http://127.0.0.1:7878", token }));
 * ```
 */
export function setDefaultClient(client: Flotilla | undefined): void {
  defaultClient = client === undefined ? undefined : Promise.resolve(client);
}
