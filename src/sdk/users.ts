/**
 * User management for admins: create (the token is shown once), list, revoke.
 *
 * @example
 * ```ts
 * const { user, token } = await users.create("alice", { client });
 * ```
 */
import { CreatedUserView, UserListView, type UserView } from "../protocol/users.js";
import { getDefaultClient, type Flotilla } from "./client.js";

/** Which server to use; the default client otherwise. */
export interface UsersOptions {
  readonly client?: Flotilla | undefined;
}

async function clientOf(options: UsersOptions): Promise<Flotilla> {
  return options.client ?? (await getDefaultClient());
}

/** Admin operations on users. */
export const users = {
  /** Creates a user; its token is in the answer and never shown again. */
  async create(name: string, options: UsersOptions = {}): Promise<CreatedUserView> {
    return (await clientOf(options)).http.json(CreatedUserView, "/users", { json: { name } });
  },
  /** Every user (runner tokens are not listed). */
  async list(options: UsersOptions = {}): Promise<UserView[]> {
    return (await (await clientOf(options)).http.json(UserListView, "/users")).users;
  },
  /** Revokes a user's token at once. */
  async revoke(id: string, options: UsersOptions = {}): Promise<void> {
    await (
      await clientOf(options)
    ).http.fetch(`/users/${encodeURIComponent(id)}`, { method: "DELETE" });
  },
};
