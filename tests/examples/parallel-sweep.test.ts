import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../examples/parallel-sweep/main.js", import.meta.url));

describe("the main job (npm start)", () => {
  it("runs the 4-scenario sweep to success, downloads every result, and leaves no process behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flotilla-sweep-"));
    try {
      const env = {
        ...process.env,
        SWEEP_DATA_DIR: join(dir, "data"),
        SWEEP_RESULTS_DIR: join(dir, "results"),
      };
      const { stdout } = await run(process.execPath, [MAIN], { env, timeout: 240_000 });
      assert.equal((stdout.match(/✅/g) ?? []).length, 4, stdout);
      assert.match(stdout, /Server stopped/);
      for (const scenario of ["alpha-1", "alpha-2", "alpha-3", "alpha-4"]) {
        const files = await readdir(join(dir, "results", scenario));
        assert.ok(
          files.includes("summary.json") && files.includes("temperature.pgm"),
          `${scenario}: ${files.join(", ")}`,
        );
        const summary = JSON.parse(
          await readFile(join(dir, "results", scenario, "summary.json"), "utf8"),
        ) as {
          checks: { energyBalance: boolean; maxPrinciple: boolean };
        };
        assert.deepEqual(summary.checks, { energyBalance: true, maxPrinciple: true });
      }
      const { stdout: ps } = await run("ps", ["-eo", "args="]);
      assert.doesNotMatch(
        ps,
        new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
        "no server or runner of this run is left",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
