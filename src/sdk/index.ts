/**
 * flotilla SDK: run simulations as asynchronous tasks on machine groups.
 *
 * `simulator.run()` returns a {@link Task} as soon as the input is uploaded; `task.wait()`
 * resolves with the final record (a failed task is data, not an exception);
 * `task.downloadOutputs()` fetches and verifies the outputs. Without configuration the SDK uses
 * the embedded local server in `~/.flotilla`, started on demand.
 *
 * @example
 * ```ts
 * import { MachineGroup, simulators } from "flotilla";
 *
 * const group = new MachineGroup({ numMachines: 4 });
 * await group.start();
 * const tasks = [];
 * for (const config of ["wind_10ms", "wind_15ms"]) {
 *   tasks.push(await simulators.custom().run(`scenarios/${config}`, { on: group, commands: [["./simulate"]] }));
 * }
 * for (const task of tasks) {
 *   const final = await task.wait();
 *   if (final.status === "success") await task.downloadOutputs(`results/${task.id}`);
 * }
 * await group.terminate();
 * ```
 *
 * @packageDocumentation
 */

/**
 * The typed client of one server, and the default client the handles use.
 *
 * @example
 * ```ts
 * const client = await Flotilla.connect({ url: "http://127.0.0.1:7878", token });
 * setDefaultClient(client);
 * ```
 */
export {
  Flotilla,
  getDefaultClient,
  setDefaultClient,
  type CallOptions,
  type ListTasksOptions,
  type OpenLogsOptions,
} from "./client.js";

/**
 * The task handle returned by `run()` and the listing functions.
 *
 * @example
 * ```ts
 * const final = await task.wait();
 * console.log(final.status === "success" ? await task.downloadOutputs() : await task.getLogs({ stream: "stderr" }));
 * ```
 */
export {
  Task,
  type DownloadOutputsOptions,
  type GetLogsOptions,
  type WaitOptions,
} from "./task.js";

/**
 * Listing tasks: `tasks.get`, `tasks.getAll`, `tasks.getTasks`, `tasks.getTask`.
 *
 * @example
 * ```ts
 * for (const task of await tasks.get({ lastN: 10, status: "success" })) console.log(task.id);
 * ```
 */
export {
  tasks,
  getAllTasks,
  getTaskById,
  getTasksFlexible,
  getTasksPage,
  type GetTasksFlexibleOptions,
  type GetTasksOptions,
  type TaskFilter,
} from "./tasks.js";

/**
 * Machine groups: where tasks run.
 *
 * @example
 * ```ts
 * const group = new MachineGroup({ provider: "slurm", numMachines: 8, options: { partition: "short" } });
 * await group.start();
 * ```
 */
export { MachineGroup, type MachineGroupOptions, type SlurmGroupOptions } from "./machine-group.js";

/**
 * Admin user management: `users.create(name)` (token shown once), `users.list()`, `users.revoke(id)`.
 *
 * @example
 * ```ts
 * import { users } from "flotilla";
 * const { token } = await users.create("alice");
 * ```
 */
export { users, type UsersOptions } from "./users.js";
export type { UserView, CreatedUserView } from "../protocol/users.js";

/**
 * Simulators: `simulators.custom()` runs your commands, `simulators.get(name)` a built-in recipe.
 *
 * @example
 * ```ts
 * const task = await simulators.custom().run("input/", { commands: [["make", "run"]] });
 * ```
 */
export { Simulator, simulators, type RunOptions } from "./simulators.js";

/**
 * Local servers: one owned by this program (`openLocalServer`), or the embedded default.
 *
 * @example
 * ```ts
 * const server = await openLocalServer({ dataDir: "/tmp/flotilla" });
 * const client = new Flotilla(server.connection);
 * await server.close();
 * ```
 */
export {
  ensureDefaultServer,
  openLocalServer,
  type LocalServer,
  type OpenLocalServerOptions,
} from "./embedded.js";

/**
 * Errors: every SDK error is a `FlotillaError` with a stable `code`.
 *
 * @example
 * ```ts
 * try {
 *   await task.downloadOutputs();
 * } catch (error) {
 *   if (isFlotillaError(error) && error.code === "OUTPUTS_NOT_AVAILABLE") await task.wait();
 * }
 * ```
 */
export {
  ERROR_CODES,
  FlotillaError,
  InvalidInputError,
  NotFoundError,
  isErrorCode,
  isFlotillaError,
  type ErrorCode,
} from "./errors.js";

/**
 * Where the client connects, resolved from options, the environment and files.
 *
 * @example
 * ```ts
 * const settings = loadClientSettings();
 * console.log(settings.kind === "remote" ? settings.url : `embedded in ${settings.dataDir}`);
 * ```
 */
export {
  loadClientSettings,
  resolveClientSettings,
  type ClientOptions,
  type ClientSettings,
} from "../config/client-config.js";

/**
 * The transport: a server's URL and token.
 *
 * @example
 * ```ts
 * const connection: ServerConnection = { url: "http://127.0.0.1:7878", token };
 * ```
 */
export type { ServerConnection } from "./http-client.js";

/**
 * Task statuses: the seven values `status` can take, and which are terminal.
 *
 * @example
 * ```ts
 * if (isTerminalStatus(task.status)) console.log("done");
 * ```
 */
export {
  TASK_STATUSES,
  TERMINAL_STATUSES,
  isTerminalStatus,
  type TaskStatus,
} from "../domain/task-status.js";

/**
 * Recipes, for writing your own simulator (`new Simulator(recipe)`).
 *
 * @example
 * ```ts
 * const echo: SimulatorRecipe = {
 *   name: "echo", description: "prints its input", binaries: ["cat"],
 *   parseVersion: () => "1", defaultCommands: ({ mainFile }) => [["cat", String(mainFile)]],
 *   mainInput: { option: "mainFile", description: "the text file", patterns: ["*.txt"] },
 * };
 * ```
 */
export type {
  ContainerImageSpec,
  MainInputSpec,
  RecipeCommandOptions,
  SimulatorRecipe,
} from "../simulators/recipe.js";

/**
 * The records the server answers with.
 *
 * @example
 * ```ts
 * const view: TaskView = await task.getInfo();
 * ```
 */
export type {
  KillView,
  OutputFileView,
  OutputManifestView,
  PositionView,
  ProjectListView,
  StatusHistoryEntryView,
  TaskListView,
  TaskMetricsView,
  TaskView,
} from "../protocol/tasks.js";

/**
 * Machine group records and the body that creates one.
 *
 * @example
 * ```ts
 * const view: MachineGroupView = await group.getInfo();
 * ```
 */
export type {
  CreateMachineGroupRequest,
  MachineGroupListView,
  MachineGroupView,
  MachineView,
} from "../protocol/machine-groups.js";

/**
 * The body that creates a task (`client.createTask`).
 *
 * @example
 * ```ts
 * const request: CreateTaskRequest = { simulator: "custom", commands: [["true"]] };
 * ```
 */
export type { CreateTaskRequest } from "../protocol/tasks.js";

/**
 * One command: an argv array, run without a shell.
 *
 * @example
 * ```ts
 * const command: Command = ["python3", "run.py"];
 * ```
 */
export type { Command } from "../domain/task.js";
