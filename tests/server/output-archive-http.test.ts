import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Flotilla, MachineGroup, simulators, type Task } from "../../src/sdk/index.js";
import { startRealServer, type RealServer } from "../helpers/real-server.js";

// GET /tasks/:id/outputs/archive over real HTTP: the server writes the tar straight to the
// socket through reused buffers (not the web-stream path app.request takes).
describe("output archive over real HTTP", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  let group: MachineGroup;
  let task: Task;

  // 40 files of 100 KiB..(pseudo-random), one of 3 MiB, a path longer than ustar holds.
  const script = [
    "mkdir -p out/many",
    "i=0; while [ $i -lt 40 ]; do head -c $((100000 + i * 997)) /dev/urandom > out/many/f$i.bin; i=$((i+1)); done",
    "head -c 3145728 /dev/urandom > out/big.bin",
    `mkdir -p out/${"d/".repeat(60)} && echo deep > out/${"d/".repeat(60)}leaf.txt`,
  ].join("; ");

  before(async () => {
    server = await startRealServer();
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-archive-http-"));
    await mkdir(join(work, "input"));
    await writeFile(join(work, "input", "p.txt"), "x\n");
    group = new MachineGroup({ name: "archive-http", numMachines: 1, client });
    await group.start();
    task = await simulators.custom().run(join(work, "input"), {
      client,
      on: "archive-http",
      commands: [["sh", "-c", script]],
    });
    assert.equal((await task.wait()).status, "success");
  });
  after(async () => {
    await group.terminate().catch(() => undefined);
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  const archiveUrl = (): string => `${server.url}/api/v1/tasks/${task.id}/outputs/archive`;
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${server.token}` });

  it("is a tar GNU tar extracts to the manifest's files, and downloadOutputs verifies it", async () => {
    const manifest = await client.getOutputManifest(task.id);
    assert.equal(manifest.files.length, 42);
    const response = await fetch(archiveUrl(), { headers: auth() });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/x-tar");
    const archive = Buffer.from(await response.arrayBuffer());
    const extracted = join(work, "gnu");
    await mkdir(extracted);
    const tar = spawnSync("tar", ["-x", "-C", extracted], { input: archive });
    assert.equal(tar.status, 0, tar.stderr.toString());
    for (const file of manifest.files) {
      const content = await readFile(join(extracted, file.path));
      assert.equal(createHash("sha256").update(content).digest("hex"), file.sha256, file.path);
    }
    const dir = await task.downloadOutputs(join(work, "sdk"));
    assert.equal((await readFile(join(dir, "out", "big.bin"))).length, 3145728);
  });

  it("survives a client that goes away mid-archive and serves the next one whole", async () => {
    const controller = new AbortController();
    const response = await fetch(archiveUrl(), { headers: auth(), signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await assert.rejects(reader.read());
    const again = await task.downloadOutputs(join(work, "after-abort"));
    assert.equal((await readFile(join(again, "out", "big.bin"))).length, 3145728);
  });

  it("cuts the connection when a stored file is damaged, and the SDK says to download again", async () => {
    const stored = join(server.dataDir, "tasks", task.id, "outputs", "out", "big.bin");
    await truncate(stored, 1000);
    await assert.rejects(task.downloadOutputs(join(work, "damaged")), (error: Error) => {
      assert.match(error.message, /download again with `flotilla tasks download/);
      return true;
    });
    // The server is still there for everything else.
    assert.equal((await client.getTask(task.id)).status, "success");
  });
});
