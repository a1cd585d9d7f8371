// What every service needs, passed in explicitly (no globals): the store, the blobs, the clock,
// the event hubs that make waits push-driven, the providers and the settings.
import type { BlobStore } from "../blobs/blob-store.js";
import type { MachineGroup, MachineProvider } from "../domain/machine-group.js";

export type { MachineProvider };
import type { Task } from "../domain/task.js";
import type { EventHub } from "../lib/event-hub.js";
import type { TaskStore } from "../store/task-store.js";
import type { ControlChannel } from "./control-channel.js";

export interface ServiceSettings {
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** Attempts before a task whose machine keeps getting lost ends failed. */
  readonly maxAttempts: number;
  readonly defaultKillGraceMs: number;
  /** Machines of the embedded `default` group (one per core). */
  readonly defaultGroupMachines: number;
  /** The `default` group is released after this long without a task. */
  readonly defaultGroupIdleMs: number;
  readonly archiveLimits: { readonly maxBytes: number; readonly maxFiles: number };
  /**
   * A task left in `pending-input` this long after creation with no upload running (the client
   * went away, or the server restarted mid-upload) ends `failed`. Default 15 minutes.
   */
  readonly inputTimeoutMs?: number;
}

export interface TaskEvents {
  /** Key: task id. Every status change and kill request of the task. */
  readonly tasks: EventHub<Task>;
  /** Key: machine group name. Something entered the group's queue. */
  readonly queues: EventHub<string>;
  /** Key: `<task id>:<stream>`. Bytes were appended to the log. */
  readonly logs: EventHub<number>;
}

/**
 * Which machine groups this server runs the machines of. Alone on its store a server hosts every
 * group; servers sharing a PostgreSQL database each host the groups made through them, so that
 * only one of them scales, restarts or releases a group.
 */
export interface GroupPlacement {
  hosts(groupName: string): boolean;
  /** Records that this server hosts the group (it was made through this server). */
  adopt(groupName: string): void;
}

export interface ServiceDeps {
  readonly store: TaskStore;
  readonly blobs: BlobStore;
  readonly clock: () => number;
  readonly events: TaskEvents;
  readonly control: ControlChannel;
  readonly providers: Readonly<Partial<Record<MachineGroup["provider"], MachineProvider>>>;
  readonly settings: ServiceSettings;
  /** Absent: this server hosts every group (one server per store). */
  readonly placement?: GroupPlacement | undefined;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
}
