/**
 * Conversions from domain records to the wire views (epoch ms → ISO-8601).
 */
import { elasticLimitsOf, type Machine, type MachineGroup } from "../domain/machine-group.js";
import type { Task } from "../domain/task.js";
import { isTerminalStatus } from "../domain/task-status.js";
import type { MachineGroupView, MachineView } from "./machine-groups.js";
import type { TaskView } from "./tasks.js";

function iso(ms: number): string;
function iso(ms: number | undefined): string | undefined;
function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Drops keys whose value is undefined, so views serialise without them. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The wire view of a task. */
export function toTaskView(task: Task): TaskView {
  return compact({
    id: task.id,
    owner: task.owner,
    project: task.project,
    simulator: task.simulator,
    simulatorVersion: task.simulatorVersion,
    commands: task.commands.map((command) => [...command]),
    machineGroup: task.machineGroup,
    status: task.status,
    isTerminal: isTerminalStatus(task.status),
    statusHistory: task.statusHistory.map((entry) =>
      compact({
        status: entry.status,
        at: iso(entry.at),
        reason: entry.reason,
        detail: entry.detail,
        machineId: entry.machineId,
      }),
    ),
    createdAt: iso(task.createdAt),
    inputUploadedAt: iso(task.inputUploadedAt),
    startedAt: iso(task.startedAt),
    endedAt: iso(task.endedAt),
    machine: task.machine,
    attempt: task.attempt,
    exitCode: task.exitCode,
    signal: task.signal,
    reason: task.reason,
    killRequestedAt: iso(task.killRequestedAt),
    queuePosition: task.queuePosition,
    metrics: compact({ ...task.metrics }),
    env: { ...task.env },
    killGraceMs: task.killGraceMs,
  });
}

/** The wire view of a machine. */
export function toMachineView(machine: Machine): MachineView {
  return compact({
    id: machine.id,
    host: machine.host,
    pid: machine.pid,
    status: machine.status,
    registeredAt: iso(machine.registeredAt),
    lastSeenAt: iso(machine.lastSeenAt),
    taskId: machine.taskId,
    providerRef: machine.providerRef,
    simulators: { ...machine.simulators },
    cpus: machine.cpus,
    memoryBytes: machine.memoryBytes,
  });
}

/** The wire view of a machine group with its machines and queue length. */
export function toMachineGroupView(
  group: MachineGroup,
  machines: readonly Machine[],
  queued: number,
  startingMachines = 0,
): MachineGroupView {
  return compact({
    name: group.name,
    owner: group.owner,
    provider: group.provider,
    numMachines: group.numMachines,
    status: group.status,
    createdAt: iso(group.createdAt),
    terminatedAt: iso(group.terminatedAt),
    options: providerOptions(group),
    costPerHour: group.costPerHour,
    ...elasticLimitsOf(group),
    queued,
    startingMachines,
    machines: machines.map(toMachineView),
  });
}

/** The group's provider options, without the elastic limits stored next to them. */
function providerOptions(group: MachineGroup): Record<string, unknown> {
  const { minMachines: _min, maxMachines: _max, maxIdleMs: _idle, ...rest } = group.options;
  return rest;
}
