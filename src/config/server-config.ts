/**
 * Server configuration: one zod schema and a pure loader from command-line options and the
 * environment. Errors name the key and where its value came from.
 */
import { availableParallelism, homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

/** Default port of `flotilla server start`. */
export const DEFAULT_PORT = 7878;

/** Settings of one server process. */
export const ServerConfig = z.object({
  dataDir: z.string().min(1),
  /** Where inputs, outputs and logs live; shared (same path) by servers sharing a database. */
  blobDir: z.string().min(1),
  /** A PostgreSQL connection string; without it the store is SQLite in the data dir. */
  databaseUrl: z.string().optional(),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  /** Listening beyond loopback needs this explicit opt-in. */
  allowRemote: z.boolean(),
  /** Where to write `{ url, token }` for the local user (the embedded default does this). */
  writeCredentials: z.string().optional(),
  leaseMs: z.number().int().min(1000),
  heartbeatMs: z.number().int().min(100),
  maxAttempts: z.number().int().min(1),
  killGraceMs: z.number().int().min(0),
  defaultGroupMachines: z.number().int().min(1),
  defaultGroupIdleMs: z.number().int().min(0),
  maxInputBytes: z.number().int().min(1),
  maxInputFiles: z.number().int().min(1),
  /** How often the slurm provider asks squeue about its pilot jobs. */
  slurmPollMs: z.number().int().min(100),
  /** A task still in `pending-input` this long after creation, with no upload running, fails. */
  inputTimeoutMs: z.number().int().min(1000),
});
/** Settings of one server process. */
export type ServerConfig = z.infer<typeof ServerConfig>;

/** Options as given on the command line (all optional, strings or numbers). */
export interface ServerOptions {
  dataDir?: string | undefined;
  host?: string | undefined;
  port?: string | number | undefined;
  allowRemote?: boolean | undefined;
  writeCredentials?: string | undefined;
  database?: string | undefined;
  blobDir?: string | undefined;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function numberFrom(
  key: string,
  value: string | number | undefined,
  source: string,
  fallback: number,
): number {
  if (value === undefined || value === "") return fallback;
  const parsed = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(parsed))
    throw new Error(`${key} from ${source} must be a number, got "${String(value)}"`);
  return parsed;
}

/** A postgres:// URL, or undefined for the SQLite default; anything else is refused. */
function databaseUrlFrom(
  option: string | undefined,
  fromEnv: string | undefined,
): string | undefined {
  const value = option ?? fromEnv;
  if (value === undefined || value === "") return undefined;
  const source = option === undefined ? "FLOTILLA_DATABASE_URL" : "--database";
  if (!/^postgres(ql)?:\/\//.test(value)) {
    throw new Error(
      `${source} must be a PostgreSQL URL such as postgres://user@host:5432/flotilla; leave it unset to use SQLite in the data dir`,
    );
  }
  return value;
}

/** Builds the server config from options (first) and env (second), with defaults. */
export function loadServerConfig(
  options: ServerOptions,
  env: Record<string, string | undefined>,
): ServerConfig {
  const host = options.host ?? env.FLOTILLA_HOST ?? "127.0.0.1";
  const allowRemote = options.allowRemote === true || env.FLOTILLA_ALLOW_REMOTE === "1";
  if (!LOOPBACK.has(host) && !allowRemote) {
    throw new Error(
      `host ${host} (from ${options.host === undefined ? "FLOTILLA_HOST" : "--host"}) listens beyond this machine; pass --allow-remote to confirm, and put the server behind TLS`,
    );
  }
  const dataDir = options.dataDir ?? env.FLOTILLA_DATA_DIR ?? join(homedir(), ".flotilla");
  const config = {
    dataDir,
    blobDir: options.blobDir ?? env.FLOTILLA_BLOB_DIR ?? dataDir,
    databaseUrl: databaseUrlFrom(options.database, env.FLOTILLA_DATABASE_URL),
    host,
    port: numberFrom(
      "port",
      options.port ?? env.FLOTILLA_PORT,
      options.port === undefined ? "FLOTILLA_PORT" : "--port",
      DEFAULT_PORT,
    ),
    allowRemote,
    writeCredentials: options.writeCredentials,
    leaseMs: numberFrom("FLOTILLA_LEASE_MS", env.FLOTILLA_LEASE_MS, "the environment", 30_000),
    heartbeatMs: numberFrom(
      "FLOTILLA_HEARTBEAT_MS",
      env.FLOTILLA_HEARTBEAT_MS,
      "the environment",
      5_000,
    ),
    maxAttempts: numberFrom(
      "FLOTILLA_MAX_ATTEMPTS",
      env.FLOTILLA_MAX_ATTEMPTS,
      "the environment",
      3,
    ),
    killGraceMs: numberFrom(
      "FLOTILLA_KILL_GRACE_MS",
      env.FLOTILLA_KILL_GRACE_MS,
      "the environment",
      10_000,
    ),
    defaultGroupIdleMs: numberFrom(
      "FLOTILLA_DEFAULT_IDLE_MS",
      env.FLOTILLA_DEFAULT_IDLE_MS,
      "the environment",
      5 * 60_000,
    ),
    defaultGroupMachines: numberFrom(
      "FLOTILLA_DEFAULT_MACHINES",
      env.FLOTILLA_DEFAULT_MACHINES,
      "the environment",
      availableParallelism(),
    ),
    maxInputBytes: numberFrom(
      "FLOTILLA_MAX_INPUT_BYTES",
      env.FLOTILLA_MAX_INPUT_BYTES,
      "the environment",
      10 * 1024 ** 3,
    ),
    maxInputFiles: numberFrom(
      "FLOTILLA_MAX_INPUT_FILES",
      env.FLOTILLA_MAX_INPUT_FILES,
      "the environment",
      100_000,
    ),
    slurmPollMs: numberFrom(
      "FLOTILLA_SLURM_POLL_MS",
      env.FLOTILLA_SLURM_POLL_MS,
      "the environment",
      5_000,
    ),
    inputTimeoutMs: numberFrom(
      "FLOTILLA_INPUT_TIMEOUT_MS",
      env.FLOTILLA_INPUT_TIMEOUT_MS,
      "the environment",
      15 * 60_000,
    ),
  };
  const parsed = ServerConfig.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `server setting ${issue?.path.join(".") ?? "?"} is invalid: ${issue?.message ?? "?"}`,
    );
  }
  return parsed.data;
}
