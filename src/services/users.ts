// Tokens: the admin token made on first start, group-scoped runner tokens, and authentication.
// Only sha256 hashes of tokens are stored; a token is shown once, when it is made.
import { createHash } from "node:crypto";
import { FlotillaError, NotFoundError } from "../domain/errors.js";
import { createId, createSecret } from "../domain/ids.js";
import type { User } from "../store/task-store.js";
import type { Principal } from "./principal.js";
import type { ServiceDeps } from "./service-deps.js";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Creates the admin user if there is none; returns its new token, or undefined if it existed. */
export async function ensureAdmin(deps: ServiceDeps): Promise<string | undefined> {
  const users = await deps.store.listUsers();
  if (users.some((user) => user.role === "admin" && user.revokedAt === undefined)) return undefined;
  const token = `flt_${createSecret(24)}`;
  try {
    await deps.store.createUser({
      id: "admin",
      name: "admin",
      role: "admin",
      tokenHash: hashToken(token),
      createdAt: deps.clock(),
    });
  } catch (error) {
    // Another server on the same database made it at the same moment: its token is the one.
    const now = await deps.store.listUsers();
    if (now.some((user) => user.role === "admin" && user.revokedAt === undefined)) return undefined;
    throw error;
  }
  return token;
}

/** A fresh token that may only run tasks of one machine group. */
export async function createRunnerToken(deps: ServiceDeps, machineGroup: string): Promise<string> {
  const token = `flr_${createSecret(24)}`;
  const now = deps.clock();
  await deps.store.createUser({
    id: `runner-${createId(now)}`,
    name: `runner of ${machineGroup}`,
    role: "runner",
    machineGroup,
    tokenHash: hashToken(token),
    createdAt: now,
  });
  return token;
}

export async function authenticate(
  deps: ServiceDeps,
  token: string,
): Promise<Principal | undefined> {
  const user = await deps.store.findUserByTokenHash(hashToken(token));
  return user === undefined
    ? undefined
    : { id: user.id, name: user.name, role: user.role, machineGroup: user.machineGroup };
}

function requireAdmin(principal: Principal): void {
  if (principal.role !== "admin") {
    throw new FlotillaError("FORBIDDEN", "only an admin may manage users; ask the server's admin");
  }
}

/** Creates a user and returns its token, shown this once. */
export async function createUser(
  deps: ServiceDeps,
  principal: Principal,
  name: string,
): Promise<{ user: User; token: string }> {
  requireAdmin(principal);
  const token = `flt_${createSecret(24)}`;
  const user = await deps.store.createUser({
    id: `u-${createId(deps.clock())}`,
    name,
    role: "user",
    tokenHash: hashToken(token),
    createdAt: deps.clock(),
  });
  return { user, token };
}

/** People, not runner tokens. */
export async function listUsers(deps: ServiceDeps, principal: Principal): Promise<readonly User[]> {
  requireAdmin(principal);
  return (await deps.store.listUsers()).filter((user) => user.role !== "runner");
}

export async function revokeUser(
  deps: ServiceDeps,
  principal: Principal,
  id: string,
): Promise<void> {
  requireAdmin(principal);
  if (id === principal.id)
    throw new FlotillaError("INVALID_INPUT", "you cannot revoke your own token; use another admin");
  const user = (await deps.store.listUsers()).find(
    (candidate) => candidate.id === id && candidate.role !== "runner",
  );
  if (user === undefined)
    throw new NotFoundError(
      "NOT_FOUND",
      `user ${id} not found; list users with \`flotilla users list\``,
    );
  await deps.store.revokeUser(id, deps.clock());
}
