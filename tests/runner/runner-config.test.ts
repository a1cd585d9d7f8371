import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadRunnerConfig } from "../../src/config/runner-config.js";

describe("runner config", () => {
  it("takes options first, then the environment, with a per-machine default work dir", () => {
    const config = loadRunnerConfig(
      { machineGroup: "g1", machineId: "m7", token: "from-flag" },
      { FLOTILLA_URL: "http://127.0.0.1:7878", FLOTILLA_TOKEN: "from-env", SLURM_JOB_ID: "4242" },
    );
    assert.deepEqual(config, {
      serverUrl: "http://127.0.0.1:7878",
      token: "from-flag",
      machineGroup: "g1",
      machineId: "m7",
      workDir: join(tmpdir(), "flotilla-runner-m7"),
      providerRef: "4242",
    });
  });

  it("names the missing key and how to give it", () => {
    assert.throws(
      () => loadRunnerConfig({ machineGroup: "g1" }, {}),
      /runner setting serverUrl is missing: pass --server <url> or set FLOTILLA_URL/,
    );
    assert.throws(
      () => loadRunnerConfig({ server: "http://h:1" }, {}),
      /runner setting machineGroup is missing: pass --machine-group/,
    );
  });

  it("names the key and where a bad value came from", () => {
    assert.throws(
      () => loadRunnerConfig({ machineGroup: "g1" }, { FLOTILLA_URL: "not a url" }),
      /runner setting serverUrl from FLOTILLA_URL is invalid \(got "not a url"\)/,
    );
    assert.throws(
      () => loadRunnerConfig({ server: "http://h:1", machineGroup: "bad group!" }, {}),
      /runner setting machineGroup from --machine-group is invalid/,
    );
  });
});
