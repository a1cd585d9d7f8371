import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { collectOutputs, snapshotInputs } from "../../src/runner/outputs.js";
import { withTempDir } from "./helpers.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

describe("outputs: what a task leaves in its working directory, minus its inputs", () => {
  it("excludes unchanged inputs and includes modified inputs and new files", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, "mesh"));
      await writeFile(join(dir, "case.inp"), "*HEADING\nbeam\n");
      await writeFile(join(dir, "mesh", "nodes.txt"), "1 0 0\n2 1 0\n");
      await writeFile(join(dir, "restart.dat"), "AAAA");
      const inputs = await snapshotInputs(dir);

      // Same size, new content: still an output.
      await writeFile(join(dir, "restart.dat"), "BBBB");
      await mkdir(join(dir, "results", "fields"), { recursive: true });
      await writeFile(join(dir, "results", "fields", "u.vtu"), "<vtu/>");
      await writeFile(join(dir, "case.frd"), "");

      const outputs = await collectOutputs(dir, inputs);
      assert.deepEqual(
        outputs.map(({ path, size, sha256: hash }) => ({ path, size, sha256: hash })),
        [
          { path: "case.frd", size: 0, sha256: sha256("") },
          { path: "restart.dat", size: 4, sha256: sha256("BBBB") },
          { path: "results/fields/u.vtu", size: 6, sha256: sha256("<vtu/>") },
        ],
      );
      assert.ok(outputs.every((file) => file.mtimeMs > 0));
    });
  });

  it("an input rewritten with the same content is not an output", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "config.json"), "{}");
      const inputs = await snapshotInputs(dir);
      await writeFile(join(dir, "config.json"), "{}");
      assert.deepEqual(await collectOutputs(dir, inputs), []);
    });
  });

  it("symlinks and empty directories are not outputs", async () => {
    await withTempDir(async (dir) => {
      const inputs = await snapshotInputs(dir);
      await writeFile(join(dir, "real.txt"), "data");
      await symlink("real.txt", join(dir, "link.txt"));
      await symlink("/etc/hostname", join(dir, "outside.txt"));
      await mkdir(join(dir, "empty", "deeper"), { recursive: true });
      const outputs = await collectOutputs(dir, inputs);
      assert.deepEqual(
        outputs.map((file) => file.path),
        ["real.txt"],
      );
    });
  });
});
