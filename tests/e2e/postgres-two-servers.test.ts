// Two server processes on one PostgreSQL database, each with its own local machine group: tasks
// submitted on either server for either group run exactly once, and waits, log follows and
// runner claims on one server are woken by changes made on the other (LISTEN/NOTIFY).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { canTransition } from "../../src/domain/task-status.js";
import {
  Flotilla,
  MachineGroup,
  simulators,
  tasks,
  type Task,
  type TaskView,
} from "../../src/sdk/index.js";
import { eventually, isAlive } from "../helpers/real-server.js";
import { findFreePort, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import {
  createTestDatabase,
  describeWithPostgres,
  type TestDatabase,
} from "../store/postgres-support.js";

const TASKS = 2000;
const CONCURRENCY = 32;

/** A `flotilla server start` process on the shared database and blob dir. */
async function startSharingServer(
  dataDir: string,
  blobDir: string,
  databaseUrl: string,
): Promise<ServerProcess> {
  return startServerProcess({
    dataDir,
    port: await findFreePort(),
    env: {
      FLOTILLA_DATABASE_URL: databaseUrl,
      FLOTILLA_BLOB_DIR: blobDir,
      FLOTILLA_URL: "",
      // Heartbeats (which also carry kill requests) far apart: a kill must arrive by push.
      FLOTILLA_HEARTBEAT_MS: "60000",
      FLOTILLA_LEASE_MS: "180000",
    },
  });
}

async function stopServerProcess(server: ServerProcess | undefined): Promise<void> {
  if (server === undefined || server.child.exitCode !== null) return;
  server.child.kill("SIGTERM");
  await server.exited;
}

/** Runs `work` over `items` with at most `limit` at once. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
}

function assertValidHistory(view: TaskView): void {
  const statuses = view.statusHistory.map((entry) => entry.status);
  assert.equal(statuses[0], "pending-input", `task ${view.id} starts pending-input`);
  for (let i = 1; i < statuses.length; i += 1) {
    assert.ok(
      canTransition(statuses[i - 1]!, statuses[i]!),
      `task ${view.id}: ${statuses[i - 1]} → ${statuses[i]} is not a transition`,
    );
  }
  assert.equal(
    statuses.filter((status) => status === "started").length,
    1,
    `${view.id} started once`,
  );
}

describeWithPostgres("two servers sharing one PostgreSQL database", () => {
  let database: TestDatabase;
  let work: string;
  let serverA: ServerProcess | undefined;
  let serverB: ServerProcess | undefined;
  let clientA: Flotilla;
  let clientB: Flotilla;
  let groupA: MachineGroup;
  let groupB: MachineGroup;

  before(async () => {
    database = await createTestDatabase();
    work = await mkdtemp(join(tmpdir(), "flotilla-two-servers-"));
    const blobDir = join(work, "blobs");
    // One after the other: the first creates the admin user and writes its token.
    serverA = await startSharingServer(join(work, "a"), blobDir, database.url);
    serverB = await startSharingServer(join(work, "b"), blobDir, database.url);
    const token = (await readFile(join(work, "a", "admin-token"), "utf8")).trim();
    clientA = new Flotilla({ url: serverA.url, token });
    clientB = new Flotilla({ url: serverB.url, token });
    groupA = new MachineGroup({ name: "on-a", provider: "local", numMachines: 2, client: clientA });
    groupB = new MachineGroup({ name: "on-b", provider: "local", numMachines: 2, client: clientB });
    await Promise.all([groupA.start(), groupB.start()]);
  });
  after(async () => {
    const pids = [
      ...((await groupA?.getInfo().catch(() => undefined))?.machines ?? []),
      ...((await groupB?.getInfo().catch(() => undefined))?.machines ?? []),
    ].flatMap((machine) => (machine.pid === undefined ? [] : [machine.pid]));
    await Promise.all([stopServerProcess(serverA), stopServerProcess(serverB)]);
    for (const pid of pids)
      assert.equal(isAlive(pid), false, `runner ${pid} stopped with its server`);
    await database?.drop();
    await rm(work, { recursive: true, force: true });
  });

  it("a wait and a log follow on one server see a task that runs on the other server's machine", async () => {
    const input = join(work, "follow-input");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "n.txt"), "3");
    const script = 'for i in $(seq "$(cat n.txt)"); do echo "line $i"; sleep 0.2; done';
    // Submitted on A, for B's group: B's runner is woken by A's NOTIFY.
    const onB = await MachineGroup.get("on-b", clientA);
    const task = await simulators
      .custom()
      .run(input, { on: onB, commands: [["sh", "-c", script]] });
    const logs = await clientA.openLogs(task.id, { follow: true });
    const viaB = await tasks.getTask(task.id, { client: clientB });
    const [final, text] = await Promise.all([viaB.wait(), logs.text()]);
    assert.equal(final.status, "success", final.reason);
    assert.equal(text, "line 1\nline 2\nline 3\n");
    const machines = (await groupB.getInfo()).machines.map((machine) => machine.id);
    assert.ok(machines.includes(final.machine?.id ?? ""), "it ran on one of B's machines");
  });

  it("live introspection asked of one server is answered by the machine attached to the other", async () => {
    const input = join(work, "live-input");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "x"), "x");
    const onB = await MachineGroup.get("on-b", clientB);
    const script = "echo one > progress.txt; echo two >> progress.txt; echo ready; exec sleep 600";
    const task = await simulators
      .custom()
      .run(input, { on: onB, commands: [["sh", "-c", script]] });
    try {
      await eventually(async () => ((await task.getLogs()).includes("ready") ? true : undefined));
      // Asked of A; only B's runner can answer (through the database and B).
      const files = await clientA.listTaskFiles(task.id);
      assert.ok(
        files.files.some((file) => file.path === "progress.txt"),
        JSON.stringify(files.files),
      );
      const tail = await clientA.tailTask(task.id, { path: "progress.txt", lines: 5 });
      assert.deepEqual(tail.lines, ["one", "two"]);
    } finally {
      await task.kill();
    }
  });

  it("a kill asked of one server reaches the task running on the other server's machine at once", async () => {
    const input = join(work, "kill-input");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "x"), "x");
    const onB = await MachineGroup.get("on-b", clientB);
    const task = await simulators.custom().run(input, {
      on: onB,
      commands: [["sh", "-c", "echo started; exec sleep 600"]],
    });
    const viaA = await tasks.getTask(task.id, { client: clientA });
    await eventually(async () => ((await viaA.getLogs()).includes("started") ? true : undefined));
    await viaA.kill();
    // The heartbeat (60 s here) would carry the kill too late for this wait: only the relay can.
    const final = await eventually(
      async () => {
        const view = await viaA.getInfo();
        return view.status === "killed" ? view : undefined;
      },
      20_000,
      "the kill",
    );
    assert.equal(final.status, "killed");
  });

  it("an elastic group is scaled only by the server it was made through", async () => {
    const elastic = new MachineGroup({
      name: "elastic-on-a",
      provider: "local",
      maxMachines: 2,
      maxIdleMs: 60_000,
      client: clientA,
    });
    await elastic.start();
    const input = join(work, "elastic-input");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "x"), "x");
    // Submitted through B, whose scaler sees the group too but must leave it to A.
    const viaB = await MachineGroup.get("elastic-on-a", clientB);
    const submitted = await Promise.all(
      [1, 2, 3, 4].map(() =>
        simulators.custom().run(input, { on: viaB, commands: [["sh", "-c", "sleep 0.5"]] }),
      ),
    );
    for (const task of submitted) assert.equal((await task.wait()).status, "success");
    const machines = (await elastic.getInfo()).machines;
    assert.ok(machines.length > 0 && machines.length <= 2, `${machines.length} machines`);
    const startedBy = await Promise.all(
      machines.map(async (machine) =>
        (await readdir(join(work, "a", "machines")).catch((): string[] => [])).includes(machine.id)
          ? "a"
          : "b",
      ),
    );
    assert.deepEqual([...new Set(startedBy)], ["a"], "only A started machines for it");
    await elastic.terminate();
  });

  it(`${TASKS} tasks submitted through both servers for both groups each run exactly once, and every wait returns`, async () => {
    const input = join(work, "input");
    const markers = join(work, "markers");
    await mkdir(input, { recursive: true });
    await mkdir(markers, { recursive: true });
    await writeFile(join(input, "case.txt"), "x");
    const servers = [clientA, clientB];
    const groups = [
      [await MachineGroup.get("on-a", clientA), await MachineGroup.get("on-a", clientB)],
      [await MachineGroup.get("on-b", clientA), await MachineGroup.get("on-b", clientB)],
    ];
    const finals = new Map<string, TaskView>();
    await forEachLimited(
      Array.from({ length: TASKS }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        // Submit through one server, for either group, and wait through the other.
        const via = i % 2;
        const task: Task = await simulators.custom().run(input, {
          on: groups[Math.floor(i / 2) % 2]![via]!,
          project: "two-servers",
          env: { MARKER: join(markers, String(i)) },
          commands: [["sh", "-c", 'echo ran >> "$MARKER"']],
        });
        const waiter = await tasks.getTask(task.id, { client: servers[1 - via] });
        finals.set(task.id, await waiter.wait());
      },
    );
    assert.equal(finals.size, TASKS);
    for (const view of finals.values()) assert.equal(view.status, "success", view.reason);
    const written = await readdir(markers);
    assert.equal(written.length, TASKS, "every task ran");
    for (const name of written) {
      assert.equal(await readFile(join(markers, name), "utf8"), "ran\n", `task ${name} ran once`);
    }
    let listed = 0;
    for await (const task of tasks.getAll({ project: "two-servers", client: clientB })) {
      listed += 1;
      const view = await task.getInfo();
      assert.equal(view.status, "success");
      assert.equal(view.attempt, 1, `task ${task.id} needed no retry`);
      assertValidHistory(view);
    }
    assert.equal(listed, TASKS);
  });
});
