// A real app (real SQLite file, real blob dir) driven through app.request(). The only substitute
// is the machine provider, an interface we own: it records starts instead of spawning runners,
// so tests can play the machine through the real runner protocol.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBlobStore } from "../../src/blobs/blob-store.js";
import type { MachineProvider } from "../../src/domain/machine-group.js";
import { createEventHub } from "../../src/lib/event-hub.js";
import { createApp } from "../../src/server/create-app.js";
import { createControlChannel } from "../../src/services/control-channel.js";
import type { ServiceDeps, ServiceSettings } from "../../src/services/service-deps.js";
import { ensureAdmin } from "../../src/services/users.js";
import { openSqliteTaskStore } from "../../src/store/sqlite/sqlite-task-store.js";

export interface RecordingProvider extends MachineProvider {
  readonly started: { group: string; count: number; token: string }[];
}

export function createRecordingProvider(): RecordingProvider {
  const started: { group: string; count: number; token: string }[] = [];
  // Ids handed out per group, as a real provider pre-assigns them; no process runs.
  const machines = new Map<string, string[]>();
  return {
    started,
    startMachines(group, count, token) {
      started.push({ group: group.name, count, token });
      const ids = Array.from({ length: count }, (_, i) => `${group.name}-m${started.length}-${i}`);
      machines.set(group.name, [...(machines.get(group.name) ?? []), ...ids]);
      return Promise.resolve(ids);
    },
    stopMachines: (group) => {
      machines.delete(group.name);
      return Promise.resolve();
    },
    stopMachine: (group, id) => {
      machines.set(
        group.name,
        (machines.get(group.name) ?? []).filter((m) => m !== id),
      );
      return Promise.resolve();
    },
    listMachines: (group) => machines.get(group.name) ?? [],
    close: () => Promise.resolve(),
  };
}

export interface TestApp {
  readonly deps: ServiceDeps;
  readonly adminToken: string;
  readonly provider: RecordingProvider;
  readonly dataDir: string;
  request(
    method: string,
    path: string,
    options?: {
      json?: unknown;
      body?: NonNullable<RequestInit["body"]> | null;
      token?: string;
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function createTestApp(
  settings: Partial<ServiceSettings> = {},
  options: { dataDir?: string } = {},
): Promise<TestApp> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "flotilla-app-")));
  const provider = createRecordingProvider();
  const deps: ServiceDeps = {
    store: openSqliteTaskStore(join(dataDir, "flotilla.db")),
    blobs: openBlobStore(dataDir),
    clock: Date.now,
    events: { tasks: createEventHub(), queues: createEventHub(), logs: createEventHub() },
    control: createControlChannel(),
    providers: { local: provider },
    settings: {
      leaseMs: 30_000,
      heartbeatMs: 5_000,
      maxAttempts: 3,
      defaultKillGraceMs: 10_000,
      defaultGroupMachines: 2,
      defaultGroupIdleMs: 60_000,
      archiveLimits: { maxBytes: 1024 ** 3, maxFiles: 10_000 },
      ...settings,
    },
    log: () => undefined,
  };
  const adminToken = (await ensureAdmin(deps)) ?? "";
  const app = createApp(deps);
  return {
    deps,
    adminToken,
    provider,
    dataDir,
    request(method, path, options = {}) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${options.token ?? adminToken}`,
        ...options.headers,
      };
      let body: NonNullable<RequestInit["body"]> | null | undefined = options.body;
      if (options.json !== undefined) {
        headers["content-type"] ??= "application/json";
        body = typeof options.json === "string" ? options.json : JSON.stringify(options.json);
      }
      const init: RequestInit & { duplex?: string } = { method, headers, body: body ?? null };
      if (body instanceof ReadableStream) init.duplex = "half";
      return Promise.resolve(app.request(path, init));
    },
    async close() {
      await deps.store.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
