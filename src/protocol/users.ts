/**
 * User bodies of the HTTP protocol (`/api/v1/users`, admin only).
 */
import { z } from "zod";

/** A user as the admin sees it; tokens are never shown again after creation. */
export const UserView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(["admin", "user", "runner"]),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});
/** A user. */
export type UserView = z.infer<typeof UserView>;

/** Answer to `POST /api/v1/users`: the user and its token, shown this once. */
export const CreatedUserView = z.object({ user: UserView, token: z.string() });
/** Answer to `POST /api/v1/users`. */
export type CreatedUserView = z.infer<typeof CreatedUserView>;

/** Answer to `GET /api/v1/users`. */
export const UserListView = z.object({ users: z.array(UserView) });
/** Answer to `GET /api/v1/users`. */
export type UserListView = z.infer<typeof UserListView>;
