// Rows of the store's tables, with JSON columns already parsed, and their mapping to domain
// records: one mapping for both dialects (snake_case stays in src/store). Each adapter turns its
// own raw rows into these (SQLite parses its *_json text columns; PostgreSQL's JSONB arrives parsed).
import type { Machine, MachineGroup } from "../domain/machine-group.js";
import type { Command, StatusHistoryEntry, Task, TaskMetrics } from "../domain/task.js";
import { ACTIVE_STATUSES, type TaskStatus } from "../domain/task-status.js";
import type { ActiveTaskCounts, User } from "./task-store.js";

export interface TaskRow {
  id: string;
  owner: string;
  project: string;
  simulator: string;
  simulator_version: string | null;
  commands: Command[];
  machine_group: string;
  status: TaskStatus;
  env: Record<string, string>;
  kill_grace_ms: number;
  created_at: number;
  input_uploaded_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  machine_id: string | null;
  machine_host: string | null;
  attempt: number;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  kill_requested_at: number | null;
  lease_expires_at: number | null;
  queue_seq: number | null;
  metrics: TaskMetrics;
}

export const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** Drops undefined values so records compare cleanly. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** A history entry, however the dialect returns it (machine id under either name). */
export interface HistoryFields {
  status: TaskStatus;
  at: number;
  reason: string;
  detail: string | null;
  machineId: string | null;
}

export function toHistoryEntry(entry: HistoryFields): StatusHistoryEntry {
  return compact({
    status: entry.status,
    at: entry.at,
    reason: entry.reason,
    detail: opt(entry.detail),
    machineId: opt(entry.machineId),
  });
}

export function toTask(
  row: TaskRow,
  history: readonly StatusHistoryEntry[],
  queuePosition: number | undefined,
): Task {
  return compact({
    id: row.id,
    owner: row.owner,
    project: row.project,
    simulator: row.simulator,
    simulatorVersion: opt(row.simulator_version),
    commands: row.commands,
    machineGroup: row.machine_group,
    status: row.status,
    statusHistory: history,
    createdAt: row.created_at,
    inputUploadedAt: opt(row.input_uploaded_at),
    startedAt: opt(row.started_at),
    endedAt: opt(row.ended_at),
    machine:
      row.machine_id === null ? undefined : { id: row.machine_id, host: row.machine_host ?? "" },
    attempt: row.attempt,
    exitCode: opt(row.exit_code),
    signal: opt(row.signal),
    reason: opt(row.reason),
    killRequestedAt: opt(row.kill_requested_at),
    leaseExpiresAt: opt(row.lease_expires_at),
    metrics: row.metrics,
    queuePosition,
    env: row.env,
    killGraceMs: row.kill_grace_ms,
  });
}

export interface GroupRow {
  name: string;
  owner: string;
  provider: MachineGroup["provider"];
  num_machines: number;
  status: MachineGroup["status"];
  created_at: number;
  terminated_at: number | null;
  options: Record<string, unknown>;
  cost_per_hour: number | null;
}

export function toGroup(row: GroupRow): MachineGroup {
  return compact({
    name: row.name,
    owner: row.owner,
    provider: row.provider,
    numMachines: row.num_machines,
    status: row.status,
    createdAt: row.created_at,
    terminatedAt: opt(row.terminated_at),
    options: row.options,
    costPerHour: opt(row.cost_per_hour),
  });
}

export interface MachineRow {
  id: string;
  machine_group: string;
  host: string;
  pid: number | null;
  status: Machine["status"];
  registered_at: number;
  last_seen_at: number;
  task_id: string | null;
  provider_ref: string | null;
  simulators: Record<string, string>;
  cpus: number | null;
  memory_bytes: number | null;
}

export function toMachine(row: MachineRow): Machine {
  return compact({
    id: row.id,
    machineGroup: row.machine_group,
    host: row.host,
    pid: opt(row.pid),
    status: row.status,
    registeredAt: row.registered_at,
    lastSeenAt: row.last_seen_at,
    taskId: opt(row.task_id),
    providerRef: opt(row.provider_ref),
    simulators: row.simulators,
    cpus: opt(row.cpus),
    memoryBytes: opt(row.memory_bytes),
  });
}

export interface UserRow {
  id: string;
  name: string;
  role: User["role"];
  machine_group: string | null;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export function toUser(row: UserRow): User {
  return compact({
    id: row.id,
    name: row.name,
    role: row.role,
    machineGroup: opt(row.machine_group),
    createdAt: row.created_at,
    revokedAt: opt(row.revoked_at),
  });
}

/** (status, count) rows as counts, 0 for an active status without a row. */
export function toActiveTaskCounts(
  rows: readonly { readonly status: string; readonly count: number | string }[],
): ActiveTaskCounts {
  const byStatus = new Map(rows.map(({ status, count }) => [status, Number(count)]));
  return Object.fromEntries(
    ACTIVE_STATUSES.map((status) => [status, byStatus.get(status) ?? 0]),
  ) as ActiveTaskCounts;
}
