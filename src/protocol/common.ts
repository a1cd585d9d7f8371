/**
 * Shared pieces of the HTTP protocol (v1): the error envelope, ids, limits.
 * Every body is JSON, camelCase; times are ISO-8601 strings.
 */
import { z } from "zod";
import { ERROR_CODES } from "../domain/errors.js";

/** The path prefix of every API route. */
export const API_PREFIX = "/api/v1";

/** Header a client sends with its bearer token: `Authorization: Bearer <token>`. */
export const AUTH_HEADER = "authorization";

/** Error body of every non-2xx answer: `{ "error": { "code", "message" } }`. */
export const ErrorEnvelope = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
/** Error body of every non-2xx answer. */
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** A task id: 15 lowercase base36 characters. */
export const TaskId = z
  .string()
  .regex(/^[0-9a-z]{15}$/, "a task id is 15 characters of 0-9 and a-z");

/** Machine group, project and user names: letters, digits, `.`, `_`, `-`; 1 to 63 characters. */
export const Name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

/** One command: a non-empty argv array of non-empty strings (no shell). */
export const CommandSchema = z
  .array(z.string().min(1, "a command argument must not be empty").max(65536))
  .min(1, "a command must have at least a program name")
  .max(4096);

/** Environment variables for a task's commands. */
export const EnvSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment names are letters, digits and _"),
    z.string().max(65536),
  )
  .refine((env) => Object.keys(env).length <= 256, "at most 256 environment variables");
