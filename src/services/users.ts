// Tokens: the admin token made on first start, group-scoped runner tokens, and authentication.
// Only sha256 hashes of tokens are stored; a token is shown once, when it is made.
import { createHash } from "node:crypto";
import { createId, createSecret } from "../domain/ids.js";
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
  await deps.store.createUser({
    id: "admin",
    name: "admin",
    role: "admin",
    tokenHash: hashToken(token),
    createdAt: deps.clock(),
  });
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
