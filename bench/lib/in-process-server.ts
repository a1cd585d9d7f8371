// The server's HTTP app in this process on 127.0.0.1:0 over any TaskStore (the PostgreSQL store
// has no wiring in `server start` yet). No providers: these servers only answer reads.
import { serve } from "@hono/node-server";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { openBlobStore } from "../../src/blobs/blob-store.js";
import { loadServerConfig } from "../../src/config/server-config.js";
import { createEventHub } from "../../src/lib/event-hub.js";
import { createApp } from "../../src/server/create-app.js";
import { createControlChannel } from "../../src/services/control-channel.js";
import type { ServiceDeps } from "../../src/services/service-deps.js";
import type { TaskStore } from "../../src/store/task-store.js";

export function createBenchDeps(store: TaskStore, dataDir: string): ServiceDeps {
  const config = loadServerConfig({ dataDir, port: 0 }, {});
  return {
    store,
    blobs: openBlobStore(dataDir),
    clock: Date.now,
    events: { tasks: createEventHub(), queues: createEventHub(), logs: createEventHub() },
    control: createControlChannel(),
    providers: {},
    settings: {
      leaseMs: config.leaseMs,
      heartbeatMs: config.heartbeatMs,
      maxAttempts: config.maxAttempts,
      defaultKillGraceMs: config.killGraceMs,
      defaultGroupMachines: 1,
      defaultGroupIdleMs: config.defaultGroupIdleMs,
      archiveLimits: { maxBytes: config.maxInputBytes, maxFiles: config.maxInputFiles },
    },
    log: () => undefined,
  };
}

export async function listenInProcess(
  deps: ServiceDeps,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = createApp(deps);
  const server = await new Promise<HttpServer>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () =>
      resolve(started as HttpServer),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
