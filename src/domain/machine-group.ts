// Machine groups and their machines (runner processes).

export const PROVIDERS = ["local", "slurm"] as const;
export type Provider = (typeof PROVIDERS)[number];

export const MACHINE_GROUP_STATUS = {
  running: "running",
  terminating: "terminating",
  terminated: "terminated",
} as const;
export type MachineGroupStatus = (typeof MACHINE_GROUP_STATUS)[keyof typeof MACHINE_GROUP_STATUS];

export const MACHINE_STATUS = {
  starting: "starting",
  idle: "idle",
  busy: "busy",
  stopped: "stopped",
  lost: "lost",
} as const;
export type MachineStatus = (typeof MACHINE_STATUS)[keyof typeof MACHINE_STATUS];

export interface MachineGroup {
  readonly name: string;
  readonly owner: string;
  readonly provider: Provider;
  readonly numMachines: number;
  readonly status: MachineGroupStatus;
  readonly createdAt: number;
  readonly terminatedAt?: number | undefined;
  /** Provider-specific options (slurm partition, ...), stored as given. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly costPerHour?: number | undefined;
}

export interface Machine {
  readonly id: string;
  readonly machineGroup: string;
  readonly host: string;
  readonly pid?: number | undefined;
  readonly status: MachineStatus;
  readonly registeredAt: number;
  readonly lastSeenAt: number;
  readonly taskId?: string | undefined;
  /** Provider handle: the child pid for local, the Slurm job id for slurm. */
  readonly providerRef?: string | undefined;
  /** Simulators (and versions) found on the machine's host. */
  readonly simulators: Readonly<Record<string, string>>;
  readonly cpus?: number | undefined;
  readonly memoryBytes?: number | undefined;
}

/**
 * Limits of an elastic group: machines are added while tasks wait (up to `maxMachines`) and a
 * machine idle for `maxIdleMs` is released (down to `minMachines`). Stored in the group's
 * `options` under these three keys, next to the provider's own options.
 */
export interface ElasticLimits {
  readonly minMachines: number;
  readonly maxMachines: number;
  readonly maxIdleMs: number;
}

/** The elastic limits of a group, or undefined when its size is fixed. */
export function elasticLimitsOf(group: MachineGroup): ElasticLimits | undefined {
  const { minMachines, maxMachines, maxIdleMs } = group.options;
  if (typeof maxMachines !== "number") return undefined;
  return {
    minMachines: typeof minMachines === "number" ? minMachines : 0,
    maxMachines,
    maxIdleMs: typeof maxIdleMs === "number" ? maxIdleMs : DEFAULT_MAX_IDLE_MS,
  };
}

/** How long a machine of an elastic group may stay idle when the group does not say. */
export const DEFAULT_MAX_IDLE_MS = 60_000;

/** Starts and stops the machines of a group (DESIGN.md "providers"). Small on purpose. */
export interface MachineProvider {
  /** Starts `count` machines that register with `runnerToken`; returns their pre-assigned ids. */
  startMachines(
    group: MachineGroup,
    count: number,
    runnerToken: string,
  ): Promise<readonly string[]>;
  /** Stops every machine of the group and waits until they are gone. */
  stopMachines(group: MachineGroup): Promise<void>;
  /** Stops one machine (an elastic group shrinking) and waits until it is gone; no replacement. */
  stopMachine(group: MachineGroup, machineId: string): Promise<void>;
  /** Ids of the group's machines this provider runs now, started or still starting. */
  listMachines(group: MachineGroup): readonly string[];
  /** Stops everything this provider started (server shutdown). */
  close(): Promise<void>;
}
