// The storage contract: domain operations, not tables. Every adapter (SQLite now, PostgreSQL
// next) implements it, throws the same FlotillaErrors, and passes tests/store/conformance.ts.
import type {
  Machine,
  MachineGroup,
  MachineGroupStatus,
  MachineStatus,
  Provider,
} from "../domain/machine-group.js";
import type { Command, Task, TaskMetrics } from "../domain/task.js";
import type { ActiveStatus, TaskStatus } from "../domain/task-status.js";

export interface NewTask {
  readonly id: string;
  readonly owner: string;
  readonly project: string;
  readonly simulator: string;
  readonly simulatorVersion?: string | undefined;
  readonly commands: readonly Command[];
  readonly machineGroup: string;
  readonly env: Readonly<Record<string, string>>;
  readonly killGraceMs: number;
  readonly createdAt: number;
}

/** Fields a transition may set alongside the status. `null` clears a field. */
export interface TaskPatch {
  /** The version of the simulator on the machine that runs the task. */
  simulatorVersion?: string | null;
  machine?: { id: string; host: string } | null;
  attempt?: number;
  exitCode?: number | null;
  signal?: string | null;
  reason?: string | null;
  killRequestedAt?: number | null;
  leaseExpiresAt?: number | null;
  inputUploadedAt?: number;
  startedAt?: number;
  endedAt?: number;
  /** Merged into the stored metrics (keys given replace keys stored). */
  metrics?: TaskMetrics;
}

export interface TransitionRequest {
  readonly to: TaskStatus;
  readonly at: number;
  readonly reason: string;
  readonly detail?: string | undefined;
  /** Recorded in the history entry. */
  readonly machineId?: string | undefined;
  /**
   * Guards checked atomically with the write. `fromStatuses`: the task must be in one of them,
   * else TASK_ALREADY_FINISHED (terminal) or INVALID_TRANSITION. `machineId`: the task must be
   * leased to this machine, else LEASE_LOST.
   */
  readonly expect?: { fromStatuses?: readonly TaskStatus[]; machineId?: string } | undefined;
  readonly patch?: TaskPatch | undefined;
}

/** Task counts of one group per non-terminal status (0 when none). */
export type ActiveTaskCounts = Readonly<Record<ActiveStatus, number>>;

/**
 * Which queued tasks a machine may claim, by simulator (a group of unlike machines): the first
 * queued task of a simulator it has. The head of the queue is taken whatever its simulator when
 * no live machine of the group (status neither stopped nor lost) reported that simulator: the
 * machine then fails it, saying what is missing, rather than the task waiting for a machine
 * that may never come.
 */
export interface ClaimFilter {
  /** The simulators the claiming machine runs (those it reported, and `custom`). */
  readonly simulators: readonly string[];
}

export interface TaskListQuery {
  readonly owner?: string | undefined;
  readonly statuses?: readonly TaskStatus[] | undefined;
  readonly project?: string | undefined;
  readonly machineGroup?: string | undefined;
  /** 1..1000 */
  readonly limit: number;
  /** Opaque cursor from a previous page's nextCursor. */
  readonly cursor?: string | undefined;
}

export interface TaskPage {
  readonly tasks: readonly Task[];
  /** Absent on the last page. */
  readonly nextCursor?: string | undefined;
}

export interface NewMachineGroup {
  readonly name: string;
  readonly owner: string;
  readonly provider: Provider;
  readonly numMachines: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly costPerHour?: number | undefined;
  readonly createdAt: number;
}

export interface NewMachine {
  readonly id: string;
  readonly machineGroup: string;
  readonly host: string;
  readonly pid?: number | undefined;
  readonly providerRef?: string | undefined;
  readonly simulators: Readonly<Record<string, string>>;
  readonly cpus?: number | undefined;
  readonly memoryBytes?: number | undefined;
  readonly at: number;
}

export interface MachinePatch {
  status?: MachineStatus;
  lastSeenAt?: number;
  taskId?: string | null;
  host?: string;
  pid?: number;
  simulators?: Readonly<Record<string, string>>;
  cpus?: number;
  memoryBytes?: number;
}

export type UserRole = "admin" | "user" | "runner";

export interface User {
  readonly id: string;
  readonly name: string;
  readonly role: UserRole;
  /** For runner tokens: the one machine group they may serve. */
  readonly machineGroup?: string | undefined;
  readonly createdAt: number;
  readonly revokedAt?: number | undefined;
}

export interface NewUser {
  readonly id: string;
  readonly name: string;
  readonly role: UserRole;
  readonly machineGroup?: string | undefined;
  /** sha256 hex of the token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly createdAt: number;
}

export interface TaskStore {
  // tasks
  /** Inserts a task in `pending-input` with its first history entry. Duplicate id: INVALID_INPUT. */
  createTask(task: NewTask): Promise<Task>;
  /** The task with its history and, while in-queue, its queue position; undefined if absent. */
  getTask(id: string): Promise<Task | undefined>;
  /** Newest first (by id), keyset paginated. A malformed cursor: INVALID_INPUT. */
  listTasks(query: TaskListQuery): Promise<TaskPage>;
  /**
   * The one way to change a task's status: checks TRANSITIONS and `expect`, applies `patch`,
   * appends the history entry, all atomically. Unknown id: TASK_NOT_FOUND.
   * Entering `in-queue` for the first time assigns the task its place at the back of its group's
   * queue; a task that returns to the queue (lease lost) keeps its original place.
   */
  transitionTask(id: string, request: TransitionRequest): Promise<Task>;
  /** Updates fields without changing status (metrics, reason, killRequestedAt). No history entry. */
  patchTask(id: string, patch: TaskPatch): Promise<Task>;
  /**
   * Atomically takes the first `in-queue` task of the group (queue order), moves it to
   * `submitted`, leases it to the machine until `leaseExpiresAt`, marks the machine busy.
   * Undefined when the queue is empty. Each queued task is handed to exactly one caller.
   * `patchFor` (optional) gives fields to set on the claimed task in the same transaction
   * (metrics known only once the task is chosen), saving a second write. With `filter`, the
   * first task the machine can run (see ClaimFilter) rather than the first of all.
   */
  claimNextTask(
    machineGroup: string,
    machine: { id: string; host: string },
    at: number,
    leaseExpiresAt: number,
    patchFor?: (claimed: Task) => TaskPatch | undefined,
    filter?: ClaimFilter,
  ): Promise<Task | undefined>;
  /** Extends the lease; LEASE_LOST when the task is not leased to this machine or is terminal. */
  renewLease(taskId: string, machineId: string, leaseExpiresAt: number): Promise<Task>;
  /** Tasks in submitted/started whose lease expired before `now`. */
  listExpiredLeases(now: number): Promise<readonly Task[]>;
  /** Non-terminal tasks of a group (for terminate), oldest first. */
  listActiveTasks(machineGroup: string): Promise<readonly Task[]>;
  /**
   * The group's tasks in submitted or started on `machineId`, oldest first: read from the
   * group's running tasks only, however long its queue (a lost machine's task is found so).
   */
  listTasksOnMachine(machineGroup: string, machineId: string): Promise<readonly Task[]>;
  /** Number of in-queue tasks of the group. */
  countQueued(machineGroup: string): Promise<number>;
  /**
   * How many of the group's tasks are in each non-terminal status, each count stopping at
   * `upTo` when given: counted on an index, nothing read per task, and with `upTo` the cost
   * does not grow with the queue (the elastic scaler asks on every queue change, and only
   * needs to know whether demand reaches the group's maximum).
   */
  countActiveTasks(machineGroup: string, upTo?: number): Promise<ActiveTaskCounts>;
  /** Distinct project names of an owner (all owners when undefined), with task counts. */
  listProjects(owner?: string): Promise<readonly { name: string; taskCount: number }[]>;

  // machine groups
  /** MACHINE_GROUP_EXISTS when a non-terminated group has the name. A terminated one is replaced. */
  createMachineGroup(group: NewMachineGroup): Promise<MachineGroup>;
  getMachineGroup(name: string): Promise<MachineGroup | undefined>;
  listMachineGroups(owner?: string): Promise<readonly MachineGroup[]>;
  setMachineGroupStatus(
    name: string,
    status: MachineGroupStatus,
    at: number,
  ): Promise<MachineGroup>;

  // machines
  createMachine(machine: NewMachine): Promise<Machine>;
  getMachine(id: string): Promise<Machine | undefined>;
  listMachines(machineGroup: string): Promise<readonly Machine[]>;
  updateMachine(id: string, patch: MachinePatch): Promise<Machine>;

  // users and tokens
  createUser(user: NewUser): Promise<User>;
  /** The non-revoked user with this token hash. */
  findUserByTokenHash(tokenHash: string): Promise<User | undefined>;
  listUsers(): Promise<readonly User[]>;
  revokeUser(id: string, at: number): Promise<void>;

  close(): Promise<void>;
}
