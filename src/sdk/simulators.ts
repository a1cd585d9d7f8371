/**
 * Simulators (DESIGN.md "Simulators"): a {@link Simulator} wraps a recipe and submits tasks with
 * `run()`, which returns as soon as the input is uploaded (the task is then `in-queue`).
 * Everything that can be checked locally is checked before anything is created on the server.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { InvalidInputError, NotFoundError } from "../domain/errors.js";
import { DEFAULT_MACHINE_GROUP, type Command } from "../domain/task.js";
import { packDirectory } from "../lib/archive.js";
import { CreateTaskRequest, INLINE_SUBMIT_INPUT_MAX_BYTES } from "../protocol/tasks.js";
import { calculix } from "../simulators/calculix.js";
import { RECIPES, findRecipe, recipeNames } from "../simulators/catalog.js";
import { custom } from "../simulators/custom.js";
import { gromacs } from "../simulators/gromacs.js";
import { lammps } from "../simulators/lammps.js";
import { openfoam } from "../simulators/openfoam.js";
import {
  containerCommand,
  findMainInputCandidates,
  type ContainerRuntime,
  type InputListing,
  type MainInputSpec,
  type SimulatorRecipe,
} from "../simulators/recipe.js";
import { getDefaultClient, type Flotilla } from "./client.js";
import { MachineGroup } from "./machine-group.js";
import { cancelOnInterrupt } from "./interrupt-notice.js";
import { Task } from "./task.js";

/** Options of {@link Simulator.run}. */
export interface RunOptions {
  /** Where to run: a MachineGroup (started first if needed) or a group name; default "default". */
  readonly on?: MachineGroup | string | undefined;
  /** Project label (default "default"). */
  readonly project?: string | undefined;
  /** The commands, as argv arrays run without a shell; default: the recipe's commands. */
  readonly commands?: readonly (readonly string[])[] | undefined;
  /** Extra environment for the commands. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Time between SIGTERM and SIGKILL when the task is killed. */
  readonly killGraceMs?: number | undefined;
  /** The main input file, relative to the input directory (recipes that have one). */
  readonly mainFile?: string | undefined;
  /**
   * Recipe-specific options, handed to the recipe's default commands: `np` (MPI ranks, a number
   * or "cpus") for gromacs, lammps and openfoam; `vars` for lammps; `structure`, `topology`,
   * `maxwarn`, `mdrunArgs` for gromacs; `application` for openfoam; `args` for lammps/calculix.
   */
  readonly options?: Readonly<Record<string, unknown>> | undefined;
  /**
   * Run every command in a container image instead of the machine's own binaries: `podman run`
   * (default) or `apptainer exec`, with the task's working directory mounted at the same path.
   * The machines need the runtime, not the simulator.
   */
  readonly container?: { readonly image: string; readonly runtime?: ContainerRuntime } | undefined;
  /** The client to use; the group's client or the default client otherwise. */
  readonly client?: Flotilla | undefined;
  /** Cancels the submission (a created task is then killed). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * A simulator made from a recipe.
 *
 * @example
 * ```ts
 * const simulator = simulators.custom();
 * const task = await simulator.run("scenarios/wind_10ms", {
 *   on: group,
 *   commands: [["python3", "simulate.py", "--steps", "1000"]],
 * });
 * ```
 */
export class Simulator {
  /** The recipe: name, binaries, default commands, main input. */
  readonly recipe: SimulatorRecipe;

  /** A simulator for `recipe` (see `simulators.get(name)` for the built-in ones). */
  constructor(recipe: SimulatorRecipe) {
    this.recipe = recipe;
  }

  /** The recipe's name. */
  get name(): string {
    return this.recipe.name;
  }

  /**
   * Submits `inputDir` as a new task and returns its handle once the input is uploaded (the task
   * is then `in-queue`); it does not wait for the task to run. Bad options, a missing input
   * directory or main file, and missing commands are InvalidInputErrors raised before anything
   * is created on the server. If the upload fails, the just-created task is killed.
   *
   * @example
   * ```ts
   * const task = await simulators.custom().run("input/", { commands: [["sh", "-c", "./run.sh > out.txt"]] });
   * console.log(`submitted ${task.id}`);
   * ```
   */
  async run(inputDir: string, options: RunOptions = {}): Promise<Task> {
    const dir = await checkInputDir(inputDir);
    const planned = await this.#commandsFor(dir, options);
    const env = { ...planned.env, ...options.env };
    const envOrNone = Object.keys(env).length === 0 ? undefined : env;
    const commands = inContainer(planned.commands, options.container, Object.keys(env));
    const groupName = typeof options.on === "string" ? options.on : undefined;
    const request = checkCreateRequest({
      simulator: this.recipe.name,
      commands,
      machineGroup: groupName,
      project: options.project,
      env: envOrNone,
      killGraceMs: options.killGraceMs,
    });
    const { client, machineGroup } = await prepareTarget(options);
    // A small input goes with the create request (one request instead of two).
    const small = await packIfSmall(dir, INLINE_SUBMIT_INPUT_MAX_BYTES);
    const input = small?.toString("base64");
    // Installed before the task exists, so a Ctrl-C at any moment kills what was made.
    const creating = client.createTask(
      { ...request, machineGroup, ...(input === undefined ? {} : { input }) },
      { signal: options.signal },
    );
    const stopCancelling = cancelOnInterrupt(async () => {
      const id = (await creating.catch(() => undefined))?.id;
      if (id !== undefined) await client.killTask(id).catch(() => undefined);
      return id;
    });
    let created: Awaited<typeof creating>;
    try {
      created = await creating;
    } catch (error) {
      stopCancelling();
      throw error;
    }
    if (input !== undefined) {
      stopCancelling();
      return new Task(created, client);
    }
    try {
      return new Task(
        await client.uploadInput(created.id, dir, { signal: options.signal }),
        client,
      );
    } catch (error) {
      // Leave nothing in pending-input; the kill is best effort, the upload error is what matters.
      await client.killTask(created.id).catch(() => undefined);
      throw error;
    } finally {
      stopCancelling();
    }
  }

  async #commandsFor(
    dir: string,
    options: RunOptions,
  ): Promise<{ commands: Command[]; env: Record<string, string> }> {
    const recipe = this.recipe;
    const mainInput = recipe.mainInput;
    let mainFile = options.mainFile;
    if (mainFile !== undefined) await checkGivenMainFile(dir, mainFile, mainInput);
    if (options.commands !== undefined) {
      if (options.commands.length === 0) throw this.#noCommands();
      const commands = options.commands.map((command, index) => copyCommand(command, index));
      return { commands, env: {} };
    }
    const listing = await listInput(dir);
    if (mainInput !== undefined && mainFile === undefined) {
      mainFile = findMainFile(listing, recipe.name, mainInput);
    }
    let recipeOptions = { ...options.options, mainFile };
    if (recipe.inspectInput !== undefined) {
      recipeOptions = { ...recipeOptions, ...(await recipe.inspectInput(listing, recipeOptions)) };
    }
    const commands = recipe.defaultCommands(recipeOptions);
    if (commands.length === 0) throw this.#noCommands();
    return { commands, env: recipe.defaultEnv?.(recipeOptions) ?? {} };
  }

  #noCommands(): InvalidInputError {
    return new InvalidInputError(
      `simulator ${this.recipe.name} has no default commands: pass commands: [["prog", "arg"]] (argv arrays, run without a shell; write ["sh", "-c", "..."] for one)`,
    );
  }
}

/**
 * The built-in simulators.
 *
 * @example
 * ```ts
 * import { simulators } from "flotilla";
 *
 * const mine = simulators.custom();
 * const same = simulators.get("custom");
 * console.log(simulators.list().map((s) => s.name));
 * ```
 */
export const simulators = {
  /** Runs your own commands as given. */
  custom: (): Simulator => new Simulator(custom),
  /** GROMACS: `gmx mdrun` on a .tpr, or grompp + mdrun from a .mdp, .gro and .top. */
  gromacs: (): Simulator => new Simulator(gromacs),
  /** OpenFOAM: the case's Allrun, or blockMesh + the controlDict's application. */
  openfoam: (): Simulator => new Simulator(openfoam),
  /** LAMMPS: `lmp -in <input script>`, with `vars` as `-var name value`. */
  lammps: (): Simulator => new Simulator(lammps),
  /** CalculiX: `ccx -i <job>` on the input's .inp file. */
  calculix: (): Simulator => new Simulator(calculix),
  /** The simulator called `name`; SIMULATOR_NOT_FOUND when there is none. */
  get: (name: string): Simulator => {
    const recipe = findRecipe(name);
    if (recipe === undefined) {
      throw new NotFoundError(
        "SIMULATOR_NOT_FOUND",
        `no simulator called ${name}; use one of: ${recipeNames().join(", ")}`,
      );
    }
    return new Simulator(recipe);
  },
  /** Every built-in simulator. */
  list: (): Simulator[] => RECIPES.map((recipe) => new Simulator(recipe)),
} as const;

// Commands are argv arrays. A plain string (the shell-line style of other tools) would be
// spread into characters by a copy, so name it and show the argv form instead.
function copyCommand(command: unknown, index: number): string[] {
  if (!Array.isArray(command)) {
    throw new InvalidInputError(
      `run option commands[${index}] is ${JSON.stringify(command)}, not an argv array; write it as ["prog", "arg", ...] (no shell; ["sh", "-c", "..."] for one)`,
    );
  }
  // Non-string arguments are left for the request schema to name.
  return (command as unknown[]).map((arg) => arg as string);
}

/**
 * The archive of `dir` when it is at most `maxBytes`: a plain tar when that is small enough (no
 * compressor to start here, on the server and on the machine: most inputs are a few KiB), else
 * a tar.gz; undefined when even that is larger, or when `dir` cannot be packed (the streamed
 * upload then reports why). Readers tell the two apart by their first bytes.
 */
async function packIfSmall(dir: string, maxBytes: number): Promise<Buffer | undefined> {
  return (await packUpTo(dir, maxBytes, false)) ?? (await packUpTo(dir, maxBytes, true));
}

async function packUpTo(dir: string, maxBytes: number, gzip: boolean): Promise<Buffer | undefined> {
  const archive = packDirectory(dir, { gzip });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of archive as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > maxBytes) return undefined;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  } catch {
    return undefined;
  } finally {
    archive.destroy();
  }
}

async function checkInputDir(inputDir: string): Promise<string> {
  const dir = resolve(inputDir);
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) {
    throw new InvalidInputError(
      `input directory ${inputDir} does not exist; pass the directory that holds the simulation's files`,
    );
  }
  if (!info.isDirectory()) {
    throw new InvalidInputError(
      `input directory ${inputDir} is a file, not a directory; pass the directory that holds the simulation's files`,
    );
  }
  return dir;
}

async function checkGivenMainFile(
  dir: string,
  mainFile: string,
  spec: MainInputSpec | undefined,
): Promise<void> {
  const what = spec === undefined ? "main input file" : `main input file (${spec.description})`;
  const escapes = isAbsolute(mainFile) || normalize(mainFile).split(/[\\/]/)[0] === "..";
  const info = escapes ? undefined : await stat(join(dir, mainFile)).catch(() => undefined);
  if (info?.isFile() !== true) {
    throw new InvalidInputError(
      `${what} ${mainFile} was not found in input directory ${dir}; give its path relative to that directory`,
      { mainFile },
    );
  }
}

// Every regular file of the input, relative with "/" (what recipes match and inspect).
async function listInput(dir: string): Promise<InputListing> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
  return { dir, files, readText: (path) => readFile(join(dir, path), "utf8") };
}

function inContainer(
  commands: readonly Command[],
  container: RunOptions["container"],
  envKeys: readonly string[],
): Command[] {
  if (container === undefined) return [...commands];
  if (typeof container.image !== "string" || container.image.trim() === "") {
    throw new InvalidInputError(
      'run option container.image must name an image, e.g. { image: "docker.io/lammps/lammps:stable" }',
    );
  }
  const runtime = container.runtime ?? "podman";
  if (runtime !== "podman" && runtime !== "apptainer") {
    throw new InvalidInputError(
      `run option container.runtime must be podman or apptainer, not ${JSON.stringify(runtime)}`,
    );
  }
  return commands.map((argv) => containerCommand(runtime, container.image, argv, envKeys));
}

function findMainFile(listing: InputListing, simulator: string, spec: MainInputSpec): string {
  const dir = listing.dir;
  const found = findMainInputCandidates(spec, listing.files);
  const [only] = found;
  if (only !== undefined && found.length === 1) return only;
  if (found.length === 0) {
    throw new InvalidInputError(
      `simulator ${simulator} needs ${spec.description}: looked for ${spec.patterns.join(" or ")} in ${dir} and found none; add it, or pass ${spec.option}: "<file>"`,
      { patterns: [...spec.patterns] },
    );
  }
  throw new InvalidInputError(
    `simulator ${simulator} needs one ${spec.description} but ${dir} has ${found.length}: ${found.join(", ")}; pick one with ${spec.option}: "<file>"`,
    { candidates: found },
  );
}

function checkCreateRequest(request: Record<string, unknown>): CreateTaskRequest {
  const parsed = CreateTaskRequest.safeParse(request);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const [first, ...rest] = issue?.path ?? [];
  const key = String(first ?? "options") + rest.map((part) => `[${JSON.stringify(part)}]`).join("");
  const option = first === "machineGroup" ? "on" : key;
  throw new InvalidInputError(`run option ${option}: ${issue?.message ?? "is invalid"}`);
}

// The client and group name of a run: a MachineGroup brings its own client (or adopts run's)
// and is started first when it is not running.
async function prepareTarget(
  options: RunOptions,
): Promise<{ client: Flotilla; machineGroup: string }> {
  const on = options.on;
  if (!(on instanceof MachineGroup)) {
    const client = options.client ?? (await getDefaultClient());
    return { client, machineGroup: on ?? DEFAULT_MACHINE_GROUP };
  }
  const client = await on.getClient(options.client);
  if (options.client !== undefined && client.connection.url !== options.client.connection.url) {
    throw new InvalidInputError(
      `machine group ${on.name ?? "(unnamed)"} belongs to ${client.connection.url} but the client option points at ${options.client.connection.url}; use one server`,
    );
  }
  if (!on.isStarted) await on.start();
  const name = on.name;
  if (name === undefined)
    throw new InvalidInputError("the machine group has no name after start()");
  return { client, machineGroup: name };
}
