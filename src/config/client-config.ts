/**
 * Client configuration (SDK and CLI): which server to talk to and with which token. One zod
 * schema for the credentials file and a loader that takes the environment and home directory as
 * arguments, so it can be tested without touching the real ones. Errors name the key and where
 * its value came from.
 *
 * Precedence, first match wins:
 * 1. explicit options (`Flotilla.connect({ url, token })`, `--server`/`--token`);
 * 2. `FLOTILLA_URL` (+ `FLOTILLA_TOKEN`, or the credentials file's token when its url matches);
 * 3. the credentials file `<configDir>/credentials.json` = `{ "url", "token" }`, where configDir
 *    is `FLOTILLA_CONFIG_DIR` or `~/.config/flotilla`;
 * 4. the embedded default: a local server with its data in `FLOTILLA_DATA_DIR` or `~/.flotilla`,
 *    started on demand.
 *
 * A token is only ever sent to the URL it was configured for: `FLOTILLA_TOKEN` goes with
 * `FLOTILLA_URL` (or with any URL when `FLOTILLA_URL` is unset), the credentials file's token
 * with the credentials file's URL. The credentials file written by the embedded server (its token
 * is the data dir's `admin-token`) resolves to the embedded default, so a stopped embedded server
 * is started again instead of failing to connect.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";

/** Port of the embedded default server. */
export const EMBEDDED_PORT = 7878;

/** The environment variables the client reads. */
export interface ClientEnv {
  readonly FLOTILLA_URL?: string | undefined;
  readonly FLOTILLA_TOKEN?: string | undefined;
  readonly FLOTILLA_CONFIG_DIR?: string | undefined;
  readonly FLOTILLA_DATA_DIR?: string | undefined;
  readonly FLOTILLA_PORT?: string | undefined;
  readonly FLOTILLA_OUTPUT_DIR?: string | undefined;
}

/** Explicit connection options; they win over the environment and files. */
export interface ClientOptions {
  /** Server URL, e.g. `http://127.0.0.1:7878`. */
  readonly url?: string | undefined;
  /** Bearer token for that server. */
  readonly token?: string | undefined;
}

/** An http(s) URL, without trailing slashes. */
export const HttpUrl = z
  .string({ error: (issue) => (issue.input === undefined ? "is missing" : "must be a string") })
  .superRefine((value, ctx) => {
    const problem = describeUrlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform(normalizeUrl);

/** The credentials file: `{ "url": "http://127.0.0.1:7878", "token": "..." }`. */
export const CredentialsFileSchema = z.object({
  url: HttpUrl,
  token: z
    .string({ error: (issue) => (issue.input === undefined ? "is missing" : "must be a string") })
    .min(1, "must not be empty"),
});
/** The credentials file's content. */
export type CredentialsFile = z.infer<typeof CredentialsFileSchema>;

/** Connect to a running server. */
export interface RemoteSettings {
  readonly kind: "remote";
  readonly url: string;
  readonly token: string | undefined;
  /** Where the URL came from, for messages: "FLOTILLA_URL", "credentials file <path>", ... */
  readonly source: string;
}

/** Use (and start when needed) the embedded local server. */
export interface EmbeddedSettings {
  readonly kind: "embedded";
  readonly dataDir: string;
  /** Where the embedded server writes `{ url, token }` for later runs. */
  readonly credentialsFile: string;
  /** Port the embedded server listens on: FLOTILLA_PORT or 7878. */
  readonly port: number;
  /** A token given explicitly or by `FLOTILLA_TOKEN`; otherwise the data dir's admin token. */
  readonly token: string | undefined;
  readonly source: string;
}

/** Where the client connects. */
export type ClientSettings = RemoteSettings | EmbeddedSettings;

/** A configuration value is invalid; `key` and `source` say which and where from. */
export class ClientConfigError extends Error {
  readonly key: string;
  readonly source: string;

  constructor(key: string, source: string, problem: string) {
    super(`${key} (from ${source}) ${problem}`);
    this.name = "ClientConfigError";
    this.key = key;
    this.source = source;
  }
}

/** Resolves where to connect from explicit options, the environment and the home directory. */
export function resolveClientSettings(
  options: ClientOptions,
  env: ClientEnv,
  homeDir: string,
): ClientSettings {
  const configDir = nonEmpty(env.FLOTILLA_CONFIG_DIR) ?? join(homeDir, ".config", "flotilla");
  const credentialsFile = join(configDir, "credentials.json");
  const dataDir = nonEmpty(env.FLOTILLA_DATA_DIR) ?? join(homeDir, ".flotilla");
  const optionUrl = parseUrl("url", options.url, "the url option");
  const envUrl = parseUrl("FLOTILLA_URL", env.FLOTILLA_URL, "the environment");
  const optionToken = nonEmpty(options.token);
  const envToken = nonEmpty(env.FLOTILLA_TOKEN);
  const credentials = (): CredentialsFile | undefined => readCredentials(credentialsFile);
  const credentialsTokenFor = (url: string): string | undefined => {
    const found = credentials();
    return found !== undefined && found.url === url ? found.token : undefined;
  };

  if (optionUrl !== undefined) {
    const envTokenFits = envUrl === undefined || envUrl === optionUrl;
    const token = optionToken ?? (envTokenFits ? envToken : undefined);
    return remote(optionUrl, token ?? credentialsTokenFor(optionUrl), "the url option");
  }
  if (envUrl !== undefined) {
    return remote(envUrl, optionToken ?? envToken ?? credentialsTokenFor(envUrl), "FLOTILLA_URL");
  }
  const found = credentials();
  const token = optionToken ?? envToken;
  if (found !== undefined && !isEmbeddedCredentials(found, dataDir)) {
    return remote(found.url, token ?? found.token, `credentials file ${credentialsFile}`);
  }
  const source =
    found === undefined
      ? `the embedded default (no FLOTILLA_URL, no ${credentialsFile})`
      : `the embedded default (${credentialsFile} was written by it)`;
  const port = Number(env.FLOTILLA_PORT ?? EMBEDDED_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ClientConfigError(
      "FLOTILLA_PORT",
      "the environment",
      `must be a port number, got "${env.FLOTILLA_PORT ?? ""}"`,
    );
  }
  return { kind: "embedded", dataDir, credentialsFile, token, source, port };
}

/** {@link resolveClientSettings} with this process's environment and home directory. */
export function loadClientSettings(options: ClientOptions = {}): ClientSettings {
  return resolveClientSettings(options, process.env, homedir());
}

/** Where outputs are downloaded by default: `FLOTILLA_OUTPUT_DIR`, else `./flotilla-output`. */
export function resolveOutputRoot(env: ClientEnv, cwd: string): string {
  return resolve(cwd, nonEmpty(env.FLOTILLA_OUTPUT_DIR) ?? "flotilla-output");
}

/** {@link resolveOutputRoot} with this process's environment and working directory. */
export function loadOutputRoot(): string {
  return resolveOutputRoot(process.env, process.cwd());
}

function remote(url: string, token: string | undefined, source: string): RemoteSettings {
  return { kind: "remote", url, token, source };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

function parseUrl(key: string, value: string | undefined, source: string): string | undefined {
  const given = nonEmpty(value);
  if (given === undefined) return undefined;
  const problem = describeUrlProblem(given);
  if (problem !== undefined) throw new ClientConfigError(key, source, problem);
  return normalizeUrl(given);
}

function describeUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be a URL such as http://127.0.0.1:7878, got "${value}"`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `must be an http:// or https:// URL, got "${value}"`;
  }
  return undefined;
}

function normalizeUrl(value: string): string {
  return new URL(value).href.replace(/\/+$/, "");
}

function readCredentials(path: string): CredentialsFile | undefined {
  const source = `credentials file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ClientConfigError(
      "credentials",
      source,
      `cannot be read: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ClientConfigError(
      "credentials",
      source,
      `is not valid JSON (${(error as Error).message}); fix it or delete it to use the embedded server`,
    );
  }
  const parsed = CredentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.join(".") || "credentials";
    throw new ClientConfigError(key, source, issue?.message ?? "is invalid");
  }
  return parsed.data;
}

// The embedded server writes the data dir's admin token into the credentials file; when they
// match, the file describes the embedded default (which may need starting again).
function isEmbeddedCredentials(credentials: CredentialsFile, dataDir: string): boolean {
  try {
    return readFileSync(join(dataDir, "admin-token"), "utf8").trim() === credentials.token;
  } catch {
    return false;
  }
}
