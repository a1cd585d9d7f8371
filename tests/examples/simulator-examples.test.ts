// The simulator examples' main.ts as users run them: each starts its own server and group,
// prints its result and leaves nothing running. Two of the four (the others share their inputs
// with tests/e2e/simulators.test.ts).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { it } from "node:test";
import { describeWithSimulators } from "../helpers/simulators-support.js";

const run = promisify(execFile);
const main = (name: string): string =>
  fileURLToPath(new URL(`../../examples/${name}/main.js`, import.meta.url));

async function runExample(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `flotilla-${name}-`));
  try {
    const env = {
      ...process.env,
      EXAMPLE_DATA_DIR: join(dir, "data"),
      EXAMPLE_RESULTS_DIR: join(dir, "results"),
    };
    const { stdout } = await run(process.execPath, [main(name)], { env, timeout: 120_000 });
    const { stdout: ps } = await run("ps", ["-eo", "args="]);
    assert.ok(!ps.includes(dir), `${name}: no server or runner of this run is left`);
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describeWithSimulators("simulator examples (main.ts)", ["calculix", "openfoam"], () => {
  it("calculix-cantilever and openfoam-cavity run to success and print their results", async () => {
    const [beam, cavity] = await Promise.all([
      runExample("calculix-cantilever"),
      runExample("openfoam-cavity"),
    ]);
    assert.match(beam, /success \(calculix /);
    assert.match(beam, /tip deflection 0\.18\d+ mm; beam theory 0\.1905 mm/);
    assert.match(cavity, /success \(openfoam /);
    assert.match(cavity, /time directories: 0\.1, 0\.2, 0\.3, 0\.4, 0\.5/);
    assert.match(cavity, /0\.5\/U has 400 cell velocities/);
  });
});
