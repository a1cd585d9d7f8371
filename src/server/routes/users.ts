// /api/v1/users: admin-only user management. Tokens are shown once, at creation.
import { Hono } from "hono";
import { z } from "zod";
import { Name } from "../../protocol/common.js";
import { createUser, listUsers, revokeUser } from "../../services/users.js";
import type { User } from "../../store/task-store.js";
import type { AppEnv } from "../app-env.js";
import { parseJsonBody, parseWith } from "../validate.js";

const CreateUserRequest = z.strictObject({ name: Name });

const view = (user: User) => ({
  id: user.id,
  name: user.name,
  role: user.role,
  createdAt: new Date(user.createdAt).toISOString(),
  ...(user.revokedAt === undefined ? {} : { revokedAt: new Date(user.revokedAt).toISOString() }),
});

export function userRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.post("/", async (c) => {
    const { name } = await parseJsonBody(c, CreateUserRequest);
    const { user, token } = await createUser(c.var.deps, c.var.principal, name);
    return c.json({ user: view(user), token }, 201);
  });
  routes.get("/", async (c) =>
    c.json({ users: (await listUsers(c.var.deps, c.var.principal)).map(view) }),
  );
  routes.delete("/:id", async (c) => {
    const id = parseWith(z.string().min(1).max(100), c.req.param("id"), "user id");
    await revokeUser(c.var.deps, c.var.principal, id);
    return c.body(null, 204);
  });
  return routes;
}
