// Machine groups, machines and users in PostgreSQL. Writes take the caller's transaction
// client; each is one statement whose conflicts are resolved by the database (ON CONFLICT),
// so two servers doing the same at once get the same answers as one.
import type pg from "pg";
import { FlotillaError, InvalidInputError, machineGroupNotFound } from "../../domain/errors.js";
import type { Machine, MachineGroup, MachineGroupStatus } from "../../domain/machine-group.js";
import type { MachinePatch, NewMachine, NewMachineGroup, NewUser, User } from "../task-store.js";
import { rows, type Queryable } from "./connection.js";
import { notify } from "./notifications.js";
import {
  toGroup,
  toMachine,
  toUser,
  type GroupRow,
  type MachineRow,
  type UserRow,
} from "./rows.js";

type Client = pg.PoolClient;

const MACHINE_COLUMNS: Record<keyof MachinePatch, string> = {
  status: "status",
  lastSeenAt: "last_seen_at",
  taskId: "task_id",
  host: "host",
  pid: "pid",
  simulators: "simulators",
  cpus: "cpus",
  memoryBytes: "memory_bytes",
};

export async function getMachineGroup(
  db: Queryable,
  name: string,
): Promise<MachineGroup | undefined> {
  const [row] = await rows<GroupRow>(db, "SELECT * FROM machine_groups WHERE name = $1", [name]);
  return row === undefined ? undefined : toGroup(row);
}

/** A terminated group of the same name is replaced in the same statement that inserts. */
export async function createMachineGroup(
  client: Client,
  group: NewMachineGroup,
): Promise<MachineGroup> {
  const [row] = await rows<GroupRow>(
    client,
    `INSERT INTO machine_groups AS g (name, owner, provider, num_machines, status, created_at, options, cost_per_hour)
     VALUES ($1, $2, $3, $4, 'running', $5, $6::jsonb, $7)
     ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, provider = EXCLUDED.provider,
       num_machines = EXCLUDED.num_machines, status = 'running', created_at = EXCLUDED.created_at,
       terminated_at = NULL, options = EXCLUDED.options, cost_per_hour = EXCLUDED.cost_per_hour
     WHERE g.status = 'terminated'
     RETURNING *`,
    [
      group.name,
      group.owner,
      group.provider,
      group.numMachines,
      group.createdAt,
      JSON.stringify(group.options),
      group.costPerHour ?? null,
    ],
  );
  if (row !== undefined) return toGroup(row);
  const existing = await getMachineGroup(client, group.name);
  throw new FlotillaError(
    "MACHINE_GROUP_EXISTS",
    `machine group ${group.name} already exists and is ${existing?.status ?? "running"}; pick another name or terminate it first`,
  );
}

export async function listMachineGroups(
  db: Queryable,
  owner: string | undefined,
): Promise<MachineGroup[]> {
  const found =
    owner === undefined
      ? await rows<GroupRow>(db, "SELECT * FROM machine_groups ORDER BY created_at, name")
      : await rows<GroupRow>(
          db,
          "SELECT * FROM machine_groups WHERE owner = $1 ORDER BY created_at, name",
          [owner],
        );
  return found.map(toGroup);
}

export async function setMachineGroupStatus(
  client: Client,
  name: string,
  status: MachineGroupStatus,
  at: number,
): Promise<MachineGroup> {
  const [row] = await rows<GroupRow>(
    client,
    "UPDATE machine_groups SET status = $2, terminated_at = $3 WHERE name = $1 RETURNING *",
    [name, status, status === "terminated" ? at : null],
  );
  if (row === undefined) throw machineGroupNotFound(name);
  // Runners waiting for work on other servers learn that their group ended.
  await notify(client, "queue", name);
  return toGroup(row);
}

export async function getMachine(db: Queryable, id: string): Promise<Machine | undefined> {
  const [row] = await rows<MachineRow>(db, "SELECT * FROM machines WHERE id = $1", [id]);
  return row === undefined ? undefined : toMachine(row);
}

export async function createMachine(client: Client, machine: NewMachine): Promise<Machine> {
  const [row] = await rows<MachineRow>(
    client,
    `INSERT INTO machines (id, machine_group, host, pid, status, registered_at, last_seen_at,
       provider_ref, simulators, cpus, memory_bytes)
     VALUES ($1, $2, $3, $4, 'idle', $5, $5, $6, $7::jsonb, $8, $9)
     ON CONFLICT (id) DO NOTHING RETURNING *`,
    [
      machine.id,
      machine.machineGroup,
      machine.host,
      machine.pid ?? null,
      machine.at,
      machine.providerRef ?? null,
      JSON.stringify(machine.simulators),
      machine.cpus ?? null,
      machine.memoryBytes ?? null,
    ],
  );
  if (row === undefined) throw new InvalidInputError(`machine ${machine.id} already exists`);
  return toMachine(row);
}

export async function listMachines(db: Queryable, group: string): Promise<Machine[]> {
  const found = await rows<MachineRow>(
    db,
    "SELECT * FROM machines WHERE machine_group = $1 ORDER BY registered_at, id",
    [group],
  );
  return found.map(toMachine);
}

export async function updateMachine(
  client: Client,
  id: string,
  patch: MachinePatch,
): Promise<Machine> {
  const values: unknown[] = [id];
  const set: string[] = [];
  for (const [key, column] of Object.entries(MACHINE_COLUMNS)) {
    const value = patch[key as keyof MachinePatch];
    if (value === undefined) continue;
    values.push(key === "simulators" ? JSON.stringify(value) : value);
    set.push(`${column} = $${values.length}${key === "simulators" ? "::jsonb" : ""}`);
  }
  const [row] =
    set.length === 0
      ? await rows<MachineRow>(client, "SELECT * FROM machines WHERE id = $1", values)
      : await rows<MachineRow>(
          client,
          `UPDATE machines SET ${set.join(", ")} WHERE id = $1 RETURNING *`,
          values,
        );
  if (row === undefined) {
    throw new FlotillaError("MACHINE_NOT_FOUND", `machine ${id} is not registered; register again`);
  }
  return toMachine(row);
}

export async function createUser(client: Client, user: NewUser): Promise<User> {
  const [row] = await rows<UserRow>(
    client,
    `INSERT INTO users (id, name, role, machine_group, token_hash, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING *`,
    [user.id, user.name, user.role, user.machineGroup ?? null, user.tokenHash, user.createdAt],
  );
  if (row !== undefined) return toUser(row);
  // Which of the two unique keys was taken decides the message.
  const [taken] = await rows(client, "SELECT 1 FROM users WHERE id = $1", [user.id]);
  if (taken !== undefined) throw new InvalidInputError(`user ${user.id} already exists`);
  throw new InvalidInputError(`that token is already in use; create the user with a new token`);
}

export async function findUserByTokenHash(db: Queryable, hash: string): Promise<User | undefined> {
  const [row] = await rows<UserRow>(
    db,
    "SELECT * FROM users WHERE token_hash = $1 AND revoked_at IS NULL",
    [hash],
  );
  return row === undefined ? undefined : toUser(row);
}

export async function listUsers(db: Queryable): Promise<User[]> {
  return (await rows<UserRow>(db, "SELECT * FROM users ORDER BY created_at, id")).map(toUser);
}

export async function revokeUser(client: Client, id: string, at: number): Promise<void> {
  await client.query("UPDATE users SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", [
    id,
    at,
  ]);
}
