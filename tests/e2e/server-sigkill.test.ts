// The server is killed with SIGKILL three times while inputs upload, tasks run and outputs
// upload, and restarted on the same port and data dir each time. Nothing may be lost or stuck:
// running tasks finish `success` on their first attempt (their runners keep going and reconnect),
// cut uploads are sent again by the SDK, an upload nobody retries ends `failed` with the reason,
// and the runners the dead server left behind exit by themselves once their task is done.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { MachineGroupView } from "../../src/protocol/machine-groups.js";
import { Flotilla } from "../../src/sdk/client.js";
import { eventually, isAlive } from "../helpers/real-server.js";
import {
  findFreePort,
  killLeftovers,
  readAdminToken,
  startServerProcess,
  type ServerProcess,
} from "../helpers/server-process.js";

const ENV = {
  FLOTILLA_LEASE_MS: "15000",
  FLOTILLA_HEARTBEAT_MS: "500",
  FLOTILLA_INPUT_TIMEOUT_MS: "3000",
};

describe("server killed with SIGKILL mid-work", () => {
  it("loses no task: running tasks succeed, cut uploads are retried or end failed with the reason", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "flotilla-sigkill-"));
    const workDir = await mkdtemp(join(tmpdir(), "flotilla-sigkill-in-"));
    const port = await findFreePort();
    const pids = new Set<number>();
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess({ dataDir, port, env: ENV });
      pids.add(server.pid);
      const client = new Flotilla({ url: server.url, token: await readAdminToken(dataDir) });
      await client.createMachineGroup({ name: "crash", provider: "local", numMachines: 2 });
      const markers = join(workDir, "markers.log");
      const small = join(workDir, "small");
      const big = join(workDir, "big");
      await writeInputs(small, big);
      const tags = new Map<string, string>();
      const create = async (script: string): Promise<string> => {
        const tag = `t${tags.size}`;
        const created = await client.createTask({
          simulator: "custom",
          commands: [["sh", "-c", `echo ${tag} >> ${markers}; ${script}`]],
          machineGroup: "crash",
        });
        tags.set(created.id, tag);
        return created.id;
      };
      const submit = async (script: string): Promise<string> => {
        const id = await create(script);
        await client.uploadInput(id, small);
        return id;
      };
      // Long enough to be running at the first kill; big outputs to be uploading at a later one.
      const running = [
        await submit("sleep 3; echo one > out.txt"),
        await submit("sleep 4; head -c 20000000 /dev/urandom > big.bin"),
        await submit("sleep 5; head -c 20000000 /dev/urandom > big.bin"),
      ];
      await eventually(
        async () =>
          (await client.getTask(running[0] ?? "")).status === "started" ? true : undefined,
        30_000,
        "the first task to start",
      );
      // An upload that nobody will retry: its bytes stop mid-archive and the server dies.
      const abandoned = await client.createTask({
        simulator: "custom",
        commands: [["true"]],
        machineGroup: "crash",
      });
      const cut = startEndlessUpload(server.url, client, abandoned.id);
      // An SDK upload of a 20 MB input, racing the kill: it must end up in-queue (retried).
      const retriedId = await create("echo retried > out.txt");
      const retried = client.uploadInput(retriedId, big).then(
        () => undefined,
        (error: unknown) => error,
      );

      let faults = 0;
      for (let round = 0; round < 3; round += 1) {
        for (const machine of (await groupMachines(client)).machines) pids.add(machine.pid ?? 0);
        process.kill(server.pid, "SIGKILL");
        await server.exited;
        faults += 1;
        server = await startServerProcess({ dataDir, port, env: ENV });
        pids.add(server.pid);
        await new Promise((resolve) => setTimeout(resolve, 1_000 + round * 500));
      }
      await cut;
      assert.equal(await retried, undefined, "the SDK upload cut by the kills was sent again");
      const all = [...running, retriedId];
      for (const id of all) {
        const done = await waitUntilEnded(client, id, 120_000);
        assert.equal(done.status, "success", `${id}: ${done.reason ?? ""}`);
      }
      const firstRunning = await client.getTask(running[0] ?? "");
      assert.equal(firstRunning.attempt, 1, "the task running at the first kill was not retried");
      for (const id of running.slice(1)) {
        const manifest = await client.getOutputManifest(id);
        const file = manifest.files.find((entry) => entry.path === "big.bin");
        assert.equal(file?.size, 20_000_000, `${id}: the 20 MB output arrived whole`);
      }
      const lines = (await readFile(markers, "utf8")).trim().split("\n");
      const attempts = await Promise.all(all.map(async (id) => (await client.getTask(id)).attempt));
      const runs = all.map((id) => lines.filter((line) => line === tags.get(id)).length);
      // A claim whose answer died with the server is retried once its lease expires (attempt 2),
      // without having run: so at least one run, and never more runs than attempts.
      all.forEach((id, index) => {
        const ran = runs[index] ?? 0;
        assert.ok(ran >= 1 && ran <= (attempts[index] ?? 0), `${id}: ${ran} runs`);
      });

      const abandonedEnd = await waitUntilEnded(client, abandoned.id, 30_000);
      assert.equal(abandonedEnd.status, "failed");
      assert.match(
        abandonedEnd.reason ?? "",
        /input upload did not finish .*submit the task again/,
      );

      // The runners the killed servers left behind finish their task and exit by themselves.
      const live = (await groupMachines(client)).machines.filter(
        (machine) => machine.status !== "stopped" && machine.status !== "lost",
      );
      const current = new Set(live.map((machine) => machine.pid ?? 0));
      const orphans = [...pids].filter((pid) => pid !== server?.pid && !current.has(pid));
      await eventually(
        () => (orphans.every((pid) => !isAlive(pid)) ? true : undefined),
        60_000,
        "the runners of the killed servers to exit",
      );
      console.log(
        `sigkill: ${faults} faults injected and survived; ${all.length + 1} tasks, 0 lost; attempts ${JSON.stringify(attempts)}; ${orphans.length} orphaned runners exited`,
      );
    } finally {
      if (server !== undefined) {
        // Every machine the last server knows, also runners a killed server left behind.
        const client = new Flotilla({ url: server.url, token: await readAdminToken(dataDir) });
        const known = await groupMachines(client).catch(() => ({ machines: [] }));
        for (const machine of known.machines) pids.add(machine.pid ?? 0);
        process.kill(server.pid, "SIGTERM");
        await server.exited;
      }
      killLeftovers(pids);
      await rm(dataDir, { recursive: true, force: true });
      await rm(workDir, { recursive: true, force: true });
    }
  });
});

async function writeInputs(small: string, big: string): Promise<void> {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(small, { recursive: true });
  await mkdir(big, { recursive: true });
  await writeFile(join(small, "in.txt"), "input");
  await writeFile(join(big, "data.bin"), randomBytes(20_000_000));
}

async function waitUntilEnded(client: Flotilla, id: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await client.waitTask(id, Math.max(1, Math.min(30_000, deadline - Date.now())));
    if (task.isTerminal || Date.now() >= deadline) return task;
  }
}

function groupMachines(client: Flotilla): Promise<MachineGroupView> {
  return client.getMachineGroup("crash");
}

/** Sends a few bytes of an input archive and then nothing, until the connection dies. */
async function startEndlessUpload(url: string, client: Flotilla, id: string): Promise<void> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(1024));
    },
  });
  const token = client.connection.token ?? "";
  await fetch(`${url}/api/v1/tasks/${id}/input`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/gzip" },
    body,
    duplex: "half",
  })
    .then((response) => response.body?.cancel())
    .catch(() => undefined);
}
