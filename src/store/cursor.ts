// The opaque keyset cursor of task lists: base64url of the last id of a page. Adapter-independent.
import { InvalidInputError } from "../domain/errors.js";
import { isId } from "../domain/ids.js";

export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): string {
  const id = /^[A-Za-z0-9_-]+$/.test(cursor)
    ? Buffer.from(cursor, "base64url").toString("utf8")
    : "";
  if (!isId(id))
    throw new InvalidInputError("cursor is not valid; use the nextCursor of a previous page");
  return id;
}
