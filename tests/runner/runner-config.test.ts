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
      cpus: undefined,
      parentPid: undefined,
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

  it("offers a task the CPUs it is given: --cpus, FLOTILLA_RUNNER_CPUS, then the Slurm allocation", () => {
    const base = { server: "http://h:1", machineGroup: "g1" };
    assert.equal(loadRunnerConfig(base, {}).cpus, undefined, "unset: every core of the host");
    assert.equal(loadRunnerConfig({ ...base, cpus: "3" }, { FLOTILLA_RUNNER_CPUS: "2" }).cpus, 3);
    assert.equal(
      loadRunnerConfig(base, { FLOTILLA_RUNNER_CPUS: "2", SLURM_CPUS_PER_TASK: "8" }).cpus,
      2,
    );
    assert.equal(
      loadRunnerConfig(base, { SLURM_CPUS_PER_TASK: "8", SLURM_CPUS_ON_NODE: "16" }).cpus,
      8,
    );
    assert.equal(loadRunnerConfig(base, { SLURM_CPUS_ON_NODE: "16" }).cpus, 16);
    assert.throws(
      () => loadRunnerConfig({ ...base, cpus: "0" }, {}),
      /runner setting cpus from --cpus is invalid \(got "0"\): must be at least 1/,
    );
    assert.throws(
      () => loadRunnerConfig(base, { FLOTILLA_RUNNER_CPUS: "1.5" }),
      /cpus from FLOTILLA_RUNNER_CPUS is invalid/,
    );
  });
});
