// The data dir on a 20 MiB tmpfs: an upload that does not fit is a 507 STORAGE_FULL that says the
// server's disk is full, leaves no partial blob and an intact SQLite file, and the server works
// again as soon as space returns. Mounting needs root: without it the suite skips loudly (and
// fails under CI=true).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { createTestApp, type TestApp } from "../helpers/app-harness.js";
import { createGroup, createTask, errorOf, json, makeInputArchive } from "../helpers/protocol.js";

function tryMount(dir: string): string | undefined {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=20m", "tmpfs", dir], { stdio: "pipe" });
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs (needs root): ${error instanceof Error ? error.message : String(error)}`;
  }
}

describe("a full disk under the data dir", () => {
  let mountPoint = "";
  let unavailable: string | undefined;
  let app: TestApp | undefined;
  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), "flotilla-full-"));
    unavailable = tryMount(mountPoint);
    if (unavailable !== undefined) {
      if (process.env.CI === "true") throw new Error(unavailable);
      process.stderr.write(`\n*** SKIPPED disk-full tests: ${unavailable}\n\n`);
      return;
    }
    app = await createTestApp({}, { dataDir: mountPoint });
    await createGroup(app, "g");
  });
  after(async () => {
    await app?.close();
    if (unavailable === undefined) execFileSync("umount", [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });

  it("an upload that does not fit is 507 STORAGE_FULL, leaves nothing behind, and works once space returns", async (t) => {
    if (app === undefined) return t.skip(unavailable);
    const task = await createTask(app, { machineGroup: "g" });
    // 30 MB of incompressible bytes cannot fit on 20 MiB.
    const dir = await mkdtemp(join(tmpdir(), "flotilla-full-in-"));
    await writeFile(join(dir, "big.bin"), randomBytes(30_000_000));
    const { packDirectory } = await import("../../src/lib/archive.js");
    const chunks: Buffer[] = [];
    for await (const chunk of packDirectory(dir, { gzip: true }) as AsyncIterable<Buffer>)
      chunks.push(chunk);
    await rm(dir, { recursive: true, force: true });
    const tooBig = await app.request("PUT", `/api/v1/tasks/${task.id}/input`, {
      body: Buffer.concat(chunks),
    });
    const error = await errorOf(tooBig, 507);
    assert.equal(error.code, "STORAGE_FULL");
    assert.match(error.message, /server's disk is full/);
    assert.deepEqual(
      (await readdir(join(mountPoint, "tasks", task.id))).filter((name) => name.includes(".tmp")),
      [],
      "no partial input is left",
    );
    const still = await json<{ status: string }>(
      await app.request("GET", `/api/v1/tasks/${task.id}`),
      200,
    );
    assert.equal(still.status, "pending-input", "the task is intact and can be uploaded again");

    // Fill every last byte: even the store's writes fail, with the same clear answer.
    const filler = join(mountPoint, "filler");
    await fillDisk(filler);
    const create = await app.request("POST", "/api/v1/tasks", {
      json: { simulator: "custom", commands: [["true"]], machineGroup: "g" },
    });
    assert.ok([201, 507].includes(create.status), `create on a full disk: ${create.status}`);
    if (create.status === 507) assert.equal((await errorOf(create, 507)).code, "STORAGE_FULL");
    else await create.arrayBuffer();
    const small = await makeInputArchive({ "in.txt": "x".repeat(100_000) });
    const upload = await app.request("PUT", `/api/v1/tasks/${task.id}/input`, {
      body: Buffer.from(small),
    });
    assert.equal((await errorOf(upload, 507)).code, "STORAGE_FULL");

    await rm(filler);
    const queued = await json<{ status: string }>(
      await app.request("PUT", `/api/v1/tasks/${task.id}/input`, { body: small }),
      200,
    );
    assert.equal(queued.status, "in-queue", "service resumes when space returns");
    const db = new Database(join(mountPoint, "flotilla.db"), { readonly: true });
    try {
      assert.deepEqual(db.pragma("integrity_check"), [{ integrity_check: "ok" }]);
    } finally {
      db.close();
    }
    assert.equal((await app.request("GET", "/healthz")).status, 200);
  });
});

async function fillDisk(path: string): Promise<void> {
  const { open } = await import("node:fs/promises");
  const file = await open(path, "w");
  const block = Buffer.alloc(1024 * 1024);
  try {
    for (;;) await file.write(block);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOSPC") throw error;
    for (let size = 65536; size >= 1; size = Math.floor(size / 2)) {
      await file.write(block.subarray(0, size)).catch(() => undefined);
    }
  } finally {
    await file.close();
  }
}
