import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectSimulators } from "../../src/runner/detect-simulators.js";
import { RECIPES } from "../../src/simulators/catalog.js";

describe("simulator detection on a runner's host", () => {
  it("reports custom as builtin, and only recipes whose binaries are on PATH", async () => {
    const found = await detectSimulators("/nonexistent-dir");
    assert.equal(found.custom, "builtin");
    for (const recipe of RECIPES) {
      if (recipe.binaries.length > 0)
        assert.equal(
          found[recipe.name],
          undefined,
          `${recipe.name} needs ${recipe.binaries.join(", ")}`,
        );
    }
  });
});
