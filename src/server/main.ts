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
import { createEventHub } from "../lib/event-hub.js";
import { createLocalProvider } from "../providers/local.js";
import { createControlChannel } from "../services/control-channel.js";
import { expireStalledInputs } from "../services/expire-stalled-inputs.js";
import { createIdleRelease } from "../services/release-idle-groups.js";
import { reapExpiredLeases } from "../services/reap-lost-machines.js";
import type { ServiceDeps } from "../services/service-deps.js";
import { createRunnerToken, ensureAdmin } from "../services/users.js";
import { openSqliteTaskStore } from "../store/sqlite/sqlite-task-store.js";
import { createApp } from "./create-app.js";

export interface RunningServer {
  readonly url: string;
  readonly deps: ServiceDeps;
  close(): Promise<void>;
}

const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), "../../../bin/flotilla.js");

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
  const store = openSqliteTaskStore(join(config.dataDir, "flotilla.db"));
  let url = "";
  const providers: Partial<Record<"local" | "slurm", MachineProvider>> = {
    local: createLocalProvider({
      serverUrl: () => url,
      cliPath: CLI_PATH,
      dataDir: config.dataDir,
      log,
    }),
  };
  const deps: ServiceDeps = {
    store,
    blobs: openBlobStore(config.dataDir),
    clock: Date.now,
    events: { tasks: createEventHub(), queues: createEventHub(), logs: createEventHub() },
    control: createControlChannel(),
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
    log,
  };
  const adminTokenPath = join(config.dataDir, "admin-token");
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
  await restartLocalGroups(deps);
  const releaseIdle = createIdleRelease(deps);
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
  log("listening", { url, dataDir: config.dataDir });
  return {
    url,
    deps,
    async close() {
      clearInterval(sweep);
      await Promise.all(Object.values(providers).map((provider) => provider.close()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Long polls and log follows would hold the close open for up to a minute.
      (server as HttpServer).closeAllConnections();
      await closed;
      await store.close();
      rmSync(join(config.dataDir, "server.json"), { force: true });
    },
  };
}

/** Local groups that were running when the server stopped get fresh machines. */
async function restartLocalGroups(deps: ServiceDeps): Promise<void> {
  const local = deps.providers.local;
  if (local === undefined) return;
  for (const group of await deps.store.listMachineGroups()) {
    if (group.provider !== "local" || group.status !== "running") continue;
    for (const machine of await deps.store.listMachines(group.name)) {
      if (machine.status !== "stopped")
        await deps.store.updateMachine(machine.id, { status: "stopped", taskId: null });
    }
    await local.startMachines(group, group.numMachines, await createRunnerToken(deps, group.name));
  }
}
