// Request parsing with zod: every failure is a 400 INVALID_INPUT naming the field and the fix.
import type { Context } from "hono";
import type { ZodType } from "zod";
import { InvalidInputError } from "../domain/errors.js";

function describeIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string {
  return error.issues
    .slice(0, 5)
    .map((issue) =>
      issue.path.length === 0
        ? issue.message
        : `${issue.path.map(String).join(".")}: ${issue.message}`,
    )
    .join("; ");
}

export function parseWith<T>(schema: ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new InvalidInputError(`invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}

export async function parseJsonBody<T>(c: Context, schema: ZodType<T>): Promise<T> {
  const type = c.req.header("content-type") ?? "";
  if (!type.includes("application/json")) {
    throw new InvalidInputError(
      "send the request body as JSON with the header content-type: application/json",
    );
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (error) {
    throw new InvalidInputError(
      `the request body is not valid JSON (${error instanceof Error ? error.message : String(error)}); fix the body and retry`,
    );
  }
  return parseWith(schema, body, "request body");
}

/** Query parameters: single values as strings, repeated (or comma-separated `list` keys) as arrays. */
export function parseQuery<T>(c: Context, schema: ZodType<T>, listKeys: readonly string[] = []): T {
  const raw: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    if (listKeys.includes(key))
      raw[key] = values.flatMap((value) => value.split(",")).filter((v) => v !== "");
    else raw[key] = values[values.length - 1];
  }
  return parseWith(schema, raw, "query");
}

export function parseParams<T>(c: Context, schema: ZodType<T>): T {
  return parseWith(schema, c.req.param(), "path");
}
