import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FlotillaError } from "../../src/domain/errors.js";
import { openLocalServer } from "../../src/sdk/embedded.js";
import { withTempDir } from "./helpers.js";

describe("openLocalServer", () => {
  it("rejects with the server's own error output when the server exits before it is ready", async () => {
    await withTempDir(async (dir) => {
      // A data dir that is a file: the server cannot start.
      const dataDir = join(dir, "not-a-dir");
      await writeFile(dataDir, "x");
      await assert.rejects(openLocalServer({ dataDir }), (error: unknown) => {
        assert.ok(error instanceof FlotillaError);
        assert.equal(error.code, "UNAVAILABLE");
        assert.match(error.message, /stopped before it was ready: exit code [1-9]/);
        assert.match(error.message, /not-a-dir|ENOTDIR|EEXIST|Cannot find/);
        return true;
      });
    });
  });
});
