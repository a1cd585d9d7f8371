/**
 * Machine group bodies of the HTTP protocol.
 */
import { z } from "zod";
import { MACHINE_GROUP_STATUS, MACHINE_STATUS, PROVIDERS } from "../domain/machine-group.js";
import { Name } from "./common.js";

/** Options of a Slurm group (ignored by `local`). */
export const SlurmOptions = z.strictObject({
  partition: z.string().max(100).optional(),
  cpusPerMachine: z.number().int().min(1).max(4096).optional(),
  memoryMb: z.number().int().min(1).optional(),
  timeLimit: z.string().max(50).optional(),
  account: z.string().max(100).optional(),
});

const MAX_MACHINES = 256;

/**
 * Body of `POST /api/v1/machine-groups`: creates the group and starts its machines. With
 * `maxMachines` the group is elastic: it starts `numMachines`, grows by one machine per waiting
 * task up to `maxMachines`, and releases machines idle for `maxIdleMs` down to `minMachines`.
 */
export const CreateMachineGroupRequest = z
  .strictObject({
    name: Name.optional(),
    provider: z.enum(PROVIDERS).default("local"),
    numMachines: z.number().int().min(0).max(MAX_MACHINES),
    minMachines: z.number().int().min(0).max(MAX_MACHINES).optional(),
    maxMachines: z.number().int().min(1).max(MAX_MACHINES).optional(),
    maxIdleMs: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3_600_000)
      .optional(),
    options: SlurmOptions.optional(),
    costPerHour: z.number().min(0).optional(),
  })
  .superRefine((request, context) => {
    const issue = (path: string, message: string): void => {
      context.addIssue({ code: "custom", path: [path], message });
    };
    const { numMachines, minMachines, maxMachines, maxIdleMs } = request;
    if (maxMachines === undefined) {
      if (numMachines < 1)
        issue(
          "numMachines",
          "numMachines must be at least 1 (an elastic group, with maxMachines, may start with 0)",
        );
      if (minMachines !== undefined || maxIdleMs !== undefined)
        issue(
          minMachines === undefined ? "maxIdleMs" : "minMachines",
          "an elastic group needs maxMachines too: the most machines it may grow to",
        );
      return;
    }
    const min = minMachines ?? 0;
    if (min > maxMachines)
      issue("minMachines", `minMachines (${min}) must not exceed maxMachines (${maxMachines})`);
    else if (numMachines < min || numMachines > maxMachines)
      issue(
        "numMachines",
        `numMachines (${numMachines}) must lie between minMachines (${min}) and maxMachines (${maxMachines})`,
      );
  });
/** Body of `POST /api/v1/machine-groups`. */
export type CreateMachineGroupRequest = z.input<typeof CreateMachineGroupRequest>;

/** One machine (runner process) of a group. */
export const MachineView = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().optional(),
  status: z.enum(Object.values(MACHINE_STATUS) as [MachineStatusValue, ...MachineStatusValue[]]),
  registeredAt: z.string(),
  lastSeenAt: z.string(),
  taskId: z.string().optional(),
  providerRef: z.string().optional(),
  simulators: z.record(z.string(), z.string()),
  cpus: z.number().optional(),
  memoryBytes: z.number().optional(),
});
type MachineStatusValue = (typeof MACHINE_STATUS)[keyof typeof MACHINE_STATUS];
/** One machine of a group. */
export type MachineView = z.infer<typeof MachineView>;

type GroupStatusValue = (typeof MACHINE_GROUP_STATUS)[keyof typeof MACHINE_GROUP_STATUS];

/** A machine group with its machines. */
export const MachineGroupView = z.object({
  name: z.string(),
  owner: z.string(),
  provider: z.enum(PROVIDERS),
  numMachines: z.number(),
  status: z.enum(Object.values(MACHINE_GROUP_STATUS) as [GroupStatusValue, ...GroupStatusValue[]]),
  createdAt: z.string(),
  terminatedAt: z.string().optional(),
  options: z.record(z.string(), z.unknown()),
  costPerHour: z.number().optional(),
  /** Elastic groups only: the least and most machines, and how long one may stay idle. */
  minMachines: z.number().optional(),
  maxMachines: z.number().optional(),
  maxIdleMs: z.number().optional(),
  queued: z.number(),
  /**
   * Machines the provider started that have not registered yet: runners starting, or Slurm
   * pilot jobs still waiting in the Slurm queue.
   */
  startingMachines: z.number().default(0),
  machines: z.array(MachineView),
});
/** A machine group with its machines. */
export type MachineGroupView = z.infer<typeof MachineGroupView>;

/** Body of `GET /api/v1/machine-groups`. */
export const MachineGroupListView = z.object({ machineGroups: z.array(MachineGroupView) });
/** Body of `GET /api/v1/machine-groups`. */
export type MachineGroupListView = z.infer<typeof MachineGroupListView>;

/** The path param of `/api/v1/machine-groups/:name`. */
export const MachineGroupNameParam = z.object({ name: Name });

/** Answer to `POST /api/v1/machine-groups/:name/runner-tokens`: shown this once. */
export const RunnerTokenView = z.object({ machineGroup: z.string(), token: z.string() });
/** Answer to `POST /api/v1/machine-groups/:name/runner-tokens`. */
export type RunnerTokenView = z.infer<typeof RunnerTokenView>;
