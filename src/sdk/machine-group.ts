/**
 * The machine group handle (seed "Parallel Execution Workflow"): describe a group, `start()` it,
 * submit tasks to it, `terminate()` it.
 */
import type { z } from "zod";
import { FlotillaError, InvalidInputError } from "../domain/errors.js";
import type { Provider } from "../domain/machine-group.js";
import {
  CreateMachineGroupRequest,
  type MachineGroupView,
  type SlurmOptions,
} from "../protocol/machine-groups.js";
import { getDefaultClient, type Flotilla } from "./client.js";

/** Options of a Slurm group: partition, CPUs and memory per machine, time limit, account. */
export type SlurmGroupOptions = z.input<typeof SlurmOptions>;

/** What a machine group should be; checked by the constructor, sent by `start()`. */
export interface MachineGroupOptions {
  /** A name (letters, digits, `.`, `_`, `-`); the server picks one when omitted. */
  readonly name?: string | undefined;
  /** `local` (runner processes on the server's host, the default) or `slurm`. */
  readonly provider?: Provider | undefined;
  /**
   * How many machines (runners) to start with; default 1, or `minMachines` for an elastic group
   * (which may start with 0).
   */
  readonly numMachines?: number | undefined;
  /** Elastic group: the fewest machines it shrinks to; default 0. Needs `maxMachines`. */
  readonly minMachines?: number | undefined;
  /** Elastic group: the most machines it grows to while tasks wait. Makes the group elastic. */
  readonly maxMachines?: number | undefined;
  /** Elastic group: a machine idle this long is released (down to `minMachines`); default 60 s. */
  readonly maxIdleMs?: number | undefined;
  /** Slurm: partition of the pilot jobs. */
  readonly partition?: string | undefined;
  /** Slurm: CPUs per machine (`--cpus-per-task`). */
  readonly cpusPerMachine?: number | undefined;
  /** Slurm: memory per machine in MiB (`--mem`). */
  readonly memoryMb?: number | undefined;
  /** Slurm: time limit of each pilot job, in Slurm's syntax (`02:00:00`, `1-00:00:00`). */
  readonly timeLimit?: string | undefined;
  /** Slurm: account to charge. */
  readonly account?: string | undefined;
  /** Provider options (Slurm partition, ...); the flat options above win over these. */
  readonly options?: SlurmGroupOptions | undefined;
  /** Cost of one machine per hour, to estimate task costs. */
  readonly costPerHour?: number | undefined;
  /** The client to use; the default client otherwise. */
  readonly client?: Flotilla | undefined;
}

type CreateRequest = z.input<typeof CreateMachineGroupRequest>;

/**
 * A named set of machines that run tasks. Constructing one checks the options and sends
 * nothing; `start()` creates it on the server.
 *
 * @example
 * ```ts
 * const group = new MachineGroup({ name: "sweep", numMachines: 4 });
 * await group.start();
 * const task = await simulators.custom().run("input/", { on: group, commands: [["./run.sh"]] });
 * await task.wait();
 * await group.terminate();
 * ```
 *
 * @example
 * ```ts
 * // Slurm pilots that follow the queue: none while idle, up to 8 while tasks wait.
 * const cluster = new MachineGroup({
 *   provider: "slurm",
 *   partition: "short",
 *   timeLimit: "02:00:00",
 *   minMachines: 0,
 *   maxMachines: 8,
 *   maxIdleMs: 120_000,
 * });
 * ```
 */
export class MachineGroup {
  #request: CreateRequest;
  #view: MachineGroupView | undefined;
  #starting: Promise<MachineGroupView> | undefined;
  #client: Flotilla | undefined;

  /** Checks the options (InvalidInputError when one is wrong); no network. */
  constructor(options: MachineGroupOptions = {}) {
    this.#request = checkGroupOptions(options);
    this.#client = options.client;
  }

  /**
   * Attaches to an existing group by name.
   *
   * @example
   * ```ts
   * const group = await MachineGroup.get("sweep");
   * console.log(group.info?.machines.length);
   * ```
   */
  static async get(name: string, client?: Flotilla): Promise<MachineGroup> {
    const group = new MachineGroup({ name, client });
    await group.getInfo();
    return group;
  }

  /** The group's name: the one given, or the server's choice once started. */
  get name(): string | undefined {
    return this.#view?.name ?? this.#request.name;
  }

  /** The last fetched record, undefined before `start()` or `getInfo()`. */
  get info(): MachineGroupView | undefined {
    return this.#view;
  }

  /** True once the last fetched record says the group is running. */
  get isStarted(): boolean {
    return this.#view?.status === "running";
  }

  /**
   * Creates the group on the server and starts its machines. Starting a group that is already
   * running (this handle's, or one of the same name) answers its record without error.
   *
   * @example
   * ```ts
   * const view = await new MachineGroup({ numMachines: 2 }).start();
   * console.log(`started ${view.name}`);
   * ```
   */
  async start(): Promise<MachineGroupView> {
    if (this.#view?.status === "running") return this.#view;
    this.#starting ??= this.#create().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #create(): Promise<MachineGroupView> {
    const client = await this.#getClient();
    try {
      return this.#see(await client.createMachineGroup(this.#request));
    } catch (error) {
      const name = this.#request.name;
      const exists = error instanceof FlotillaError && error.code === "MACHINE_GROUP_EXISTS";
      if (!exists || name === undefined) throw error;
      return this.#see(await client.getMachineGroup(name));
    }
  }

  // Keeps the handle in step with the server: a start() after terminate() makes the same group
  // again, under the name the server gave it.
  #see(view: MachineGroupView): MachineGroupView {
    this.#view = view;
    this.#request = {
      name: view.name,
      provider: view.provider,
      numMachines: view.numMachines,
      minMachines: view.minMachines,
      maxMachines: view.maxMachines,
      maxIdleMs: view.maxIdleMs,
      options: view.options,
      costPerHour: view.costPerHour,
    };
    return view;
  }

  /**
   * Kills the group's tasks and stops its machines; answers the terminated record.
   *
   * @example
   * ```ts
   * await group.terminate();
   * ```
   */
  async terminate(): Promise<MachineGroupView> {
    const name = this.#requireName("terminate");
    return this.#see(await (await this.#getClient()).terminateMachineGroup(name));
  }

  /**
   * Fetches the group's current record with its machines and queue length.
   *
   * @example
   * ```ts
   * const { machines, queued } = await group.getInfo();
   * ```
   */
  async getInfo(): Promise<MachineGroupView> {
    const name = this.#requireName("describe");
    return this.#see(await (await this.#getClient()).getMachineGroup(name));
  }

  /**
   * The client this group talks through: its own, else `fallback`, else the default client.
   * The first one used stays the group's client.
   */
  async getClient(fallback?: Flotilla): Promise<Flotilla> {
    this.#client ??= fallback;
    return this.#getClient();
  }

  async #getClient(): Promise<Flotilla> {
    this.#client ??= await getDefaultClient();
    return this.#client;
  }

  #requireName(action: string): string {
    const name = this.name;
    if (name === undefined) {
      throw new InvalidInputError(
        `this machine group has no name yet, so there is nothing to ${action}: call start() first, or pass a name`,
      );
    }
    return name;
  }
}

function checkGroupOptions(options: MachineGroupOptions): CreateRequest {
  const elastic = options.maxMachines !== undefined;
  const numMachines = options.numMachines ?? (elastic ? (options.minMachines ?? 0) : 1);
  const least = elastic ? 0 : 1;
  if (typeof numMachines !== "number" || !Number.isInteger(numMachines) || numMachines < least) {
    throw new InvalidInputError(
      `numMachines must be an integer >= ${least}, got ${String(numMachines)}`,
    );
  }
  const flat = {
    partition: options.partition,
    cpusPerMachine: options.cpusPerMachine,
    memoryMb: options.memoryMb,
    timeLimit: options.timeLimit,
    account: options.account,
  };
  const given = Object.fromEntries(Object.entries(flat).filter(([, value]) => value !== undefined));
  const providerOptions = { ...options.options, ...given };
  const request: CreateRequest = {
    name: options.name,
    provider: options.provider ?? "local",
    numMachines,
    minMachines: options.minMachines,
    maxMachines: options.maxMachines,
    maxIdleMs: options.maxIdleMs,
    options: Object.keys(providerOptions).length === 0 ? undefined : providerOptions,
    costPerHour: options.costPerHour,
  };
  const parsed = CreateMachineGroupRequest.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.map(String).join(".") || "options";
    throw new InvalidInputError(`machine group ${key}: ${issue?.message ?? "is invalid"}`);
  }
  return request;
}
