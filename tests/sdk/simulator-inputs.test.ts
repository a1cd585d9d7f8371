// The built-in recipes check the input directory in run(), before anything reaches a server: a
// missing main file, companion file or dictionary entry is an InvalidInputError naming it.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { InvalidInputError } from "../../src/domain/errors.js";
import { simulators, type Simulator } from "../../src/sdk/simulators.js";
import { closedPortClient, withTempDir } from "./helpers.js";

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

async function refused(
  simulator: Simulator,
  files: Record<string, string>,
  message: RegExp,
  options: Record<string, unknown> = {},
): Promise<void> {
  await withTempDir(async (dir) => {
    await writeFiles(dir, files);
    const client = await closedPortClient();
    await assert.rejects(simulator.run(dir, { client, ...options }), (error: unknown) => {
      assert.ok(
        error instanceof InvalidInputError,
        `expected InvalidInputError, got ${String(error)}`,
      );
      assert.match(error.message, message);
      return true;
    });
  });
}

describe("run() with a built-in recipe names what the input lacks", () => {
  it("lammps without an input script", async () => {
    await refused(
      simulators.lammps(),
      { "data.lj": "" },
      /simulator lammps needs the LAMMPS input script \(in\.\* or \*\.in\): looked for in\.\* or \*\.in or \*\.lmp in .* and found none; add it, or pass mainFile/,
    );
  });

  it("calculix without a .inp, or with two", async () => {
    await refused(
      simulators.calculix(),
      { "notes.txt": "" },
      /needs the CalculiX job file \(\*\.inp\)/,
    );
    await refused(
      simulators.calculix(),
      { "a.inp": "", "b.inp": "" },
      /has 2: a\.inp, b\.inp; pick one with mainFile/,
    );
  });

  it("gromacs with a .mdp but no topology", async () => {
    await refused(
      simulators.gromacs(),
      { "md.mdp": "", "conf.gro": "" },
      /simulator gromacs needs a topology file \(\*\.top\) next to md\.mdp in .* and found none/,
    );
  });

  it("openfoam without a case, or whose controlDict names no solver", async () => {
    await refused(
      simulators.openfoam(),
      { "README.md": "" },
      /needs an OpenFOAM case \(Allrun, or system\/controlDict\): looked for Allrun or system\/controlDict/,
    );
    await refused(
      simulators.openfoam(),
      { "system/controlDict": "endTime 1;\n", "system/blockMeshDict": "" },
      /system\/controlDict in .* names no solver/,
    );
  });

  it("a container option without an image", async () => {
    await refused(
      simulators.calculix(),
      { "beam.inp": "" },
      /container\.image must name an image/,
      {
        container: { image: " " },
      },
    );
  });
});
