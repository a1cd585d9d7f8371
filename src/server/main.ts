// Wiring of a server process: store, blobs, providers, the lease sweep, HTTP, and the files that
// let local clients find it (server.json, admin-token, credentials).
import { serve, type ServerType } from "@hono/node-server";
import type { Server as HttpServer } from "node:http";
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  renameSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openBlobStore } from "../blobs/blob-store.js";
import type { ServerConfig } from "../config/server-config.js";
import type { MachineProvider } from "../domain/machine-group.js";
import { createLocalProvider } from "../providers/local.js";
import { createSlurmProvider } from "../providers/slurm.js";
import { expireStalledInputs } from "../services/expire-stalled-inputs.js";
import { createIdleRelease } from "../services/release-idle-groups.js";
import { handleLostMachine, reapExpiredLeases } from "../services/reap-lost-machines.js";
import { createElasticScaler } from "../services/scale-elastic-groups.js";
import type { GroupPlacement, ServiceDeps } from "../services/service-deps.js";
import { createRunnerToken, ensureAdmin } from "../services/users.js";
import { createApp } from "./create-app.js";
import { openStore } from "./open-store.js";

export interface RunningServer {
  readonly url: string;
  readonly deps: ServiceDeps;
  close(): Promise<void>;
}

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), "../../../bin/flotilla.js");

/**
 * How long an idle kept-alive connection stays open (Node's default is 5 s). Clients close theirs
 * sooner (4 s, sdk/http-client.ts); a client whose event loop is held up longer than the server's
 * timeout sends its next request on a connection the server is closing ("socket hang up"). The
 * bench hit that with 5 s while spawning 1,000 processes, which kept the loop from running timers.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function writeSecretFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

function logLine(message: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), message, ...fields })}\n`);
}

async function listen(
  app: ReturnType<typeof createApp>,
  host: string,
  port: number,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) =>
      resolve({ server, port: info.port }),
    );
    (server as HttpServer).keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Headers must be allowed longer than an idle connection is kept (Node's advice).
    (server as HttpServer).headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `port ${port} on ${host} is in use; is another flotilla server running? (\`flotilla server status\`), or pick another with --port`,
            )
          : error,
      );
    });
  });
}

export async function startServer(config: ServerConfig, log = logLine): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true });
  const opened = await openStore(config, log);
  const { store } = opened;
  let url = "";
  const providers: Partial<Record<"local" | "slurm", MachineProvider>> = {
    local: createLocalProvider({
      serverUrl: () => url,
      cliPath: CLI_PATH,
      dataDir: config.dataDir,
      log,
    }),
    slurm: createSlurmProvider({
      serverUrl: () => url,
      cliPath: CLI_PATH,
      dataDir: config.dataDir,
      pollMs: config.slurmPollMs,
      // deps is made below; a pilot can only end after a group started, so it exists by then.
      onMachineLost: (machineId, why) => handleLostMachine(deps, machineId, why),
      log,
    }),
  };
  const deps: ServiceDeps = {
    store,
    blobs: openBlobStore(config.blobDir),
    clock: Date.now,
    events: opened.events,
    control: opened.control,
    providers,
    settings: {
      leaseMs: config.leaseMs,
      heartbeatMs: config.heartbeatMs,
      maxAttempts: config.maxAttempts,
      defaultKillGraceMs: config.killGraceMs,
      defaultGroupMachines: config.defaultGroupMachines,
      defaultGroupIdleMs: config.defaultGroupIdleMs,
      archiveLimits: { maxBytes: config.maxInputBytes, maxFiles: config.maxInputFiles },
      inputTimeoutMs: config.inputTimeoutMs,
    },
    placement: opened.kind === "postgres" ? createGroupPlacement(config.dataDir) : undefined,
    log,
  };
  const adminTokenPath = join(config.dataDir, "admin-token");
  const stopRelay = await opened.connect(deps);
  const newToken = await ensureAdmin(deps);
  if (newToken !== undefined) writeSecretFile(adminTokenPath, `${newToken}\n`);
  const app = createApp(deps);
  const { server, port } = await listen(app, config.host, config.port);
  url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  writeSecretFile(
    join(config.dataDir, "server.json"),
    JSON.stringify({ url, pid: process.pid, startedAt: new Date().toISOString() }),
  );
  if (config.writeCredentials !== undefined && existsSync(adminTokenPath)) {
    const token = readFileSync(adminTokenPath, "utf8").trim();
    writeSecretFile(config.writeCredentials, JSON.stringify({ url, token }, null, 2));
  }
  await restartGroups(deps);
  const releaseIdle = createIdleRelease(deps);
  const scaler = createElasticScaler(deps);
  // Growth is pushed by queue events; this finds new elastic groups and releases idle machines.
  const scaling = setInterval(
    () =>
      void scaler
        .sweep()
        .catch((error: unknown) => log("elastic sweep failed", { error: String(error) })),
    Math.min(1_000, config.leaseMs / 4),
  );
  const sweep = setInterval(
    () => {
      reapExpiredLeases(deps).catch((error: unknown) =>
        log("lease sweep failed", { error: String(error) }),
      );
      releaseIdle().catch((error: unknown) => log("idle release failed", { error: String(error) }));
      expireStalledInputs(deps).catch((error: unknown) =>
        log("input expiry failed", { error: String(error) }),
      );
    },
    Math.max(250, Math.floor(config.leaseMs / 4)),
  );
  log("listening", { url, dataDir: config.dataDir, store: opened.kind });
  return {
    url,
    deps,
    async close() {
      clearInterval(sweep);
      clearInterval(scaling);
      scaler.close();
      await Promise.all(Object.values(providers).map((provider) => provider.close()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Long polls and log follows would hold the close open for up to a minute.
      (server as HttpServer).closeAllConnections();
      await closed;
      await stopRelay();
      await store.close();
      rmSync(join(config.dataDir, "server.json"), { force: true });
    },
  };
}

/** Groups that were running when the server stopped get fresh machines (their old ones ended). */
async function restartGroups(deps: ServiceDeps): Promise<void> {
  for (const group of await deps.store.listMachineGroups()) {
    const provider = deps.providers[group.provider];
    if (provider === undefined || group.status !== "running") continue;
    // Servers sharing a database each restart only the groups they host.
    if (deps.placement?.hosts(group.name) === false) continue;
    for (const machine of await deps.store.listMachines(group.name)) {
      if (machine.status !== "stopped")
        await deps.store.updateMachine(machine.id, { status: "stopped", taskId: null });
    }
    await provider
      .startMachines(group, group.numMachines, await createRunnerToken(deps, group.name))
      .catch((error: unknown) =>
        deps.log("could not restart the machines of a group", {
          group: group.name,
          error: String(error),
        }),
      );
  }
}

/**
 * Groups made through this server, remembered as `<dataDir>/groups/<name>` (the data dir is this
 * server's own; the blob dir is what servers share).
 */
function createGroupPlacement(dataDir: string): GroupPlacement {
  const marker = (name: string): string => join(dataDir, "groups", encodeURIComponent(name));
  return {
    hosts: (name) => existsSync(marker(name)),
    adopt: (name) => {
      mkdirSync(join(dataDir, "groups"), { recursive: true });
      writeFileSync(marker(name), `${new Date().toISOString()}\n`);
    },
  };
}
