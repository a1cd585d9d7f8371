// Machine groups, machines and users in SQLite. Called inside the adapter's transactions.
import type Database from "better-sqlite3";
import { FlotillaError, InvalidInputError, machineGroupNotFound } from "../../domain/errors.js";
import type { Machine, MachineGroup, MachineGroupStatus } from "../../domain/machine-group.js";
import type { MachinePatch, NewMachine, NewMachineGroup, NewUser, User } from "../task-store.js";
import {
  toGroup,
  toMachine,
  toUser,
  type GroupRow,
  type MachineRow,
  type UserRow,
} from "./rows.js";

const MACHINE_COLUMNS: Record<keyof MachinePatch, string> = {
  status: "status",
  lastSeenAt: "last_seen_at",
  taskId: "task_id",
  host: "host",
  pid: "pid",
  simulators: "simulators_json",
  cpus: "cpus",
  memoryBytes: "memory_bytes",
};

export function createRegistry(db: Database.Database) {
  const s = {
    group: db.prepare("SELECT * FROM machine_groups WHERE name = ?"),
    groupsAll: db.prepare("SELECT * FROM machine_groups ORDER BY created_at, name"),
    groupsOf: db.prepare("SELECT * FROM machine_groups WHERE owner = ? ORDER BY created_at, name"),
    deleteGroup: db.prepare("DELETE FROM machine_groups WHERE name = ?"),
    insertGroup:
      db.prepare(`INSERT INTO machine_groups (name, owner, provider, num_machines, status, created_at, options_json, cost_per_hour)
      VALUES (@name, @owner, @provider, @numMachines, 'running', @createdAt, @optionsJson, @costPerHour)`),
    setGroupStatus: db.prepare(
      "UPDATE machine_groups SET status = ?, terminated_at = ? WHERE name = ?",
    ),
    machine: db.prepare("SELECT * FROM machines WHERE id = ?"),
    machinesOf: db.prepare(
      "SELECT * FROM machines WHERE machine_group = ? ORDER BY registered_at, id",
    ),
    insertMachine:
      db.prepare(`INSERT INTO machines (id, machine_group, host, pid, status, registered_at, last_seen_at, provider_ref,
      simulators_json, cpus, memory_bytes) VALUES (@id, @machineGroup, @host, @pid, 'idle', @at, @at, @providerRef,
      @simulatorsJson, @cpus, @memoryBytes)`),
    markBusy: db.prepare(
      "UPDATE machines SET status = 'busy', task_id = ?, last_seen_at = ? WHERE id = ?",
    ),
    user: db.prepare("SELECT * FROM users WHERE id = ?"),
    userByHash: db.prepare("SELECT * FROM users WHERE token_hash = ? AND revoked_at IS NULL"),
    hashTaken: db.prepare("SELECT 1 FROM users WHERE token_hash = ?").pluck(),
    users: db.prepare("SELECT * FROM users ORDER BY created_at, id"),
    insertUser:
      db.prepare(`INSERT INTO users (id, name, role, machine_group, token_hash, created_at)
      VALUES (@id, @name, @role, @machineGroup, @tokenHash, @createdAt)`),
    revokeUser: db.prepare("UPDATE users SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
  };
  const machineUpdates = new Map<string, Database.Statement>();

  const getGroup = (name: string): MachineGroup | undefined => {
    const row = s.group.get(name) as GroupRow | undefined;
    return row === undefined ? undefined : toGroup(row);
  };
  const getMachine = (id: string): Machine | undefined => {
    const row = s.machine.get(id) as MachineRow | undefined;
    return row === undefined ? undefined : toMachine(row);
  };

  return {
    getGroup,
    getMachine,
    createGroup(group: NewMachineGroup): MachineGroup {
      const existing = getGroup(group.name);
      if (existing !== undefined && existing.status !== "terminated") {
        throw new FlotillaError(
          "MACHINE_GROUP_EXISTS",
          `machine group ${group.name} already exists and is ${existing.status}; pick another name or terminate it first`,
        );
      }
      if (existing !== undefined) s.deleteGroup.run(group.name);
      s.insertGroup.run({
        ...group,
        optionsJson: JSON.stringify(group.options),
        costPerHour: group.costPerHour ?? null,
      });
      return getGroup(group.name) as MachineGroup;
    },
    listGroups: (owner?: string): MachineGroup[] =>
      ((owner === undefined ? s.groupsAll.all() : s.groupsOf.all(owner)) as GroupRow[]).map(
        toGroup,
      ),
    setGroupStatus(name: string, status: MachineGroupStatus, at: number): MachineGroup {
      if (getGroup(name) === undefined) throw machineGroupNotFound(name);
      s.setGroupStatus.run(status, status === "terminated" ? at : null, name);
      return getGroup(name) as MachineGroup;
    },
    createMachine(machine: NewMachine): Machine {
      if (getMachine(machine.id) !== undefined)
        throw new InvalidInputError(`machine ${machine.id} already exists`);
      s.insertMachine.run({
        ...machine,
        pid: machine.pid ?? null,
        providerRef: machine.providerRef ?? null,
        simulatorsJson: JSON.stringify(machine.simulators),
        cpus: machine.cpus ?? null,
        memoryBytes: machine.memoryBytes ?? null,
      });
      return getMachine(machine.id) as Machine;
    },
    listMachines: (group: string): Machine[] =>
      (s.machinesOf.all(group) as MachineRow[]).map(toMachine),
    updateMachine(id: string, patch: MachinePatch): Machine {
      if (getMachine(id) === undefined) {
        throw new FlotillaError(
          "MACHINE_NOT_FOUND",
          `machine ${id} is not registered; register again`,
        );
      }
      const values: Record<string, unknown> = {};
      for (const [key, column] of Object.entries(MACHINE_COLUMNS)) {
        const value = patch[key as keyof MachinePatch];
        if (value === undefined) continue;
        values[column] = key === "simulators" ? JSON.stringify(value) : value;
      }
      const columns = Object.keys(values).sort();
      if (columns.length > 0) {
        const key = columns.join(",");
        let statement = machineUpdates.get(key);
        if (statement === undefined) {
          statement = db.prepare(
            `UPDATE machines SET ${columns.map((c) => `${c} = @${c}`).join(", ")} WHERE id = @id`,
          );
          machineUpdates.set(key, statement);
        }
        statement.run({ ...values, id });
      }
      return getMachine(id) as Machine;
    },
    markBusy(machineId: string, taskId: string, at: number): void {
      s.markBusy.run(taskId, at, machineId);
    },
    createUser(user: NewUser): User {
      if (s.user.get(user.id) !== undefined)
        throw new InvalidInputError(`user ${user.id} already exists`);
      if (s.hashTaken.get(user.tokenHash) !== undefined)
        throw new InvalidInputError(
          `that token is already in use; create the user with a new token`,
        );
      s.insertUser.run({ ...user, machineGroup: user.machineGroup ?? null });
      return toUser(s.user.get(user.id) as UserRow);
    },
    findUserByTokenHash(hash: string): User | undefined {
      const row = s.userByHash.get(hash) as UserRow | undefined;
      return row === undefined ? undefined : toUser(row);
    },
    listUsers: (): User[] => (s.users.all() as UserRow[]).map(toUser),
    revokeUser(id: string, at: number): void {
      s.revokeUser.run(at, id);
    },
  };
}
