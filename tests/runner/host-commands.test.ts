import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { findFirstFile } from "../../src/runner/detect-simulators.js";
import {
  missingSimulator,
  prepareForHost,
  sourcedCommand,
  type HostFacts,
} from "../../src/runner/host-commands.js";
import type { TaskView } from "../../src/protocol/tasks.js";

const run = promisify(execFile);

function task(simulator: string, commands: string[][], env: Record<string, string> = {}): TaskView {
  return {
    id: "t00000000000001",
    owner: "admin",
    project: "default",
    simulator,
    commands,
    machineGroup: "g1",
    status: "submitted",
    isTerminal: false,
    statusHistory: [],
    createdAt: new Date().toISOString(),
    attempt: 1,
    metrics: {},
    env,
    killGraceMs: 2_000,
  };
}

const host: HostFacts = {
  cpus: 6,
  environmentScripts: { openfoam: "/opt/of/etc/bashrc" },
  simulators: { custom: "builtin", openfoam: "v1912", gromacs: "2022.5" },
};

describe("a task's commands as the machine runs them", () => {
  it("fills {cpus} and {workdir} in argv and env, and exports FLOTILLA_CPUS", () => {
    const prepared = prepareForHost(
      task("gromacs", [["gmx", "mdrun", "-nt", "{cpus}", "-o", "{workdir}/x"]], {
        OMP_NUM_THREADS: "{cpus}",
      }),
      "/w/t1",
      host,
    );
    assert.deepEqual(prepared.commands, [["gmx", "mdrun", "-nt", "6", "-o", "/w/t1/x"]]);
    assert.deepEqual(prepared.env, { FLOTILLA_CPUS: "6", OMP_NUM_THREADS: "6" });
  });

  it("sources the recipe's environment script before each command, except in a container", () => {
    const prepared = prepareForHost(
      task("openfoam", [["blockMesh"], ["podman", "run", "img", "icoFoam"]]),
      "/w",
      host,
    );
    assert.deepEqual(prepared.commands, [
      ["bash", "-c", '. "$0" >/dev/null 2>&1; exec "$@"', "/opt/of/etc/bashrc", "blockMesh"],
      ["podman", "run", "img", "icoFoam"],
    ]);
  });

  it("passes the argv through the sourcing shell untouched", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flotilla-source-"));
    try {
      const script = join(dir, "bashrc");
      await writeFile(script, "export FOAM_THING=set\necho noise; echo more noise >&2\n");
      const argv = [
        "sh",
        "-c",
        'printf "%s|" "$FOAM_THING" "$1" "$2"',
        "x",
        "a b; $(rm -rf /)",
        "'q\"",
      ];
      const { stdout, stderr } = await run(
        sourcedCommand(script, argv)[0]!,
        sourcedCommand(script, argv).slice(1),
      );
      assert.equal(stdout, "set|a b; $(rm -rf /)|'q\"|");
      assert.equal(stderr, "", "the script's own output is dropped");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("says why a machine cannot run a task whose simulator it lacks, and lets custom and containers through", () => {
    assert.match(
      missingSimulator(task("lammps", [["lmp", "-in", "in.lj"]]), host) ?? "",
      /this machine has no lammps: lmp not found on its PATH/,
    );
    assert.equal(missingSimulator(task("gromacs", [["gmx", "mdrun"]]), host), undefined);
    assert.equal(missingSimulator(task("custom", [["true"]]), host), undefined);
    assert.equal(missingSimulator(task("mine", [["true"]]), host), undefined);
    assert.equal(
      missingSimulator(task("lammps", [["podman", "run", "i", "lmp"]]), host),
      undefined,
    );
  });

  it("finds the first environment script, newest install first for a * segment", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flotilla-scripts-"));
    try {
      for (const version of ["openfoam2212", "openfoam2312"]) {
        await mkdir(join(dir, version, "etc"), { recursive: true });
        await writeFile(join(dir, version, "etc", "bashrc"), "");
      }
      assert.equal(
        await findFirstFile([join(dir, "none", "bashrc"), join(dir, "openfoam*", "etc", "bashrc")]),
        join(dir, "openfoam2312", "etc", "bashrc"),
      );
      assert.equal(await findFirstFile([join(dir, "x*", "bashrc")]), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
