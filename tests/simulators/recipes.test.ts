import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FlotillaError } from "../../src/domain/errors.js";
import { calculix } from "../../src/simulators/calculix.js";
import { gromacs } from "../../src/simulators/gromacs.js";
import { lammps } from "../../src/simulators/lammps.js";
import { openfoam, readApplication } from "../../src/simulators/openfoam.js";
import {
  containerCommand,
  linesMatching,
  type InputListing,
  type SimulatorRecipe,
} from "../../src/simulators/recipe.js";

function listing(files: Record<string, string>): InputListing {
  return {
    dir: "/in",
    files: Object.keys(files).sort(),
    readText: (path) => Promise.resolve(files[path] ?? ""),
  };
}

async function plan(recipe: SimulatorRecipe, files: Record<string, string>, options = {}) {
  const base = { ...options, mainFile: (options as { mainFile?: string }).mainFile };
  const facts =
    recipe.inspectInput === undefined ? {} : await recipe.inspectInput(listing(files), base);
  const all = { ...base, ...facts };
  return { commands: recipe.defaultCommands(all), env: recipe.defaultEnv?.(all) ?? {} };
}

const invalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof FlotillaError && error.code === "INVALID_INPUT" && pattern.test(error.message);

describe("gromacs recipe", () => {
  it("runs mdrun on a .tpr with the machine's CPUs as threads", async () => {
    const { commands } = await plan(gromacs, { "run.tpr": "" }, { mainFile: "run.tpr" });
    assert.deepEqual(commands, [["gmx", "mdrun", "-s", "run.tpr", "-nt", "{cpus}"]]);
  });

  it("runs grompp then mdrun from a .mdp with the .gro and .top it finds", async () => {
    const files = { "md.mdp": "", "conf.gro": "", "topol.top": "" };
    const { commands } = await plan(gromacs, files, { mainFile: "md.mdp", maxwarn: 1 });
    assert.deepEqual(commands, [
      [
        "gmx",
        "grompp",
        "-f",
        "md.mdp",
        "-c",
        "conf.gro",
        "-p",
        "topol.top",
        "-o",
        "topol.tpr",
        "-maxwarn",
        "1",
      ],
      ["gmx", "mdrun", "-s", "topol.tpr", "-nt", "{cpus}"],
    ]);
  });

  it("names the missing structure or topology before anything is submitted", async () => {
    await assert.rejects(
      plan(gromacs, { "md.mdp": "", "topol.top": "" }, { mainFile: "md.mdp" }),
      invalid(/needs a structure file \(\*\.gro\) next to md\.mdp .* found none/),
    );
    await assert.rejects(
      plan(
        gromacs,
        { "md.mdp": "", "a.gro": "", "b.gro": "", "t.top": "" },
        { mainFile: "md.mdp" },
      ),
      invalid(/has 2: a\.gro, b\.gro; pick one with options: \{ structure/),
    );
  });

  it("runs gmx_mpi under mpirun with np, allowing root", async () => {
    const { commands, env } = await plan(gromacs, { "x.tpr": "" }, { mainFile: "x.tpr", np: 4 });
    assert.deepEqual(commands, [
      ["mpirun", "--oversubscribe", "-np", "4", "gmx_mpi", "mdrun", "-s", "x.tpr", "-ntomp", "1"],
    ]);
    assert.equal(env.OMPI_ALLOW_RUN_AS_ROOT, "1");
    assert.equal(env.OMPI_ALLOW_RUN_AS_ROOT_CONFIRM, "1");
  });

  it("finds GROMACS's fatal error block and reads its version", () => {
    const stderr =
      "\n-------\nProgram:     gmx grompp\n\nError in user input:\nInvalid command-line options\n  In command-line option -f\n    File 'nope.mdp' does not exist\n";
    assert.match(
      gromacs.findError?.({ stdout: "", stderr }) ?? "",
      /Error in user input:\nInvalid command-line options/,
    );
    assert.equal(
      gromacs.parseVersion("GROMACS version:    2022.5-Debian_2022.5_2\n"),
      "2022.5-Debian_2022.5_2",
    );
  });
});

describe("lammps recipe", () => {
  it("passes vars as -var and runs under mpirun with np", async () => {
    const { commands } = await plan(
      lammps,
      { "in.lj": "" },
      { mainFile: "in.lj", vars: { T: 1.5, seed: "7" }, np: "cpus" },
    );
    assert.deepEqual(commands, [
      [
        "mpirun",
        "--oversubscribe",
        "-np",
        "{cpus}",
        "lmp",
        "-in",
        "in.lj",
        "-var",
        "T",
        "1.5",
        "-var",
        "seed",
        "7",
      ],
    ]);
  });

  it("refuses bad vars and np with a message naming the option", async () => {
    await assert.rejects(
      plan(lammps, {}, { mainFile: "in.lj", vars: ["T"] }),
      invalid(/option vars must be an object/),
    );
    await assert.rejects(
      plan(lammps, {}, { mainFile: "in.lj", np: 0 }),
      invalid(/option np \(MPI ranks\)/),
    );
  });

  it("takes ERROR and Last command lines as the error, and reads the version from lmp -h", () => {
    const stdout =
      "LAMMPS (29 Sep 2021)\nERROR: Unknown command: foo (src/input.cpp:274)\nLast command: foo\n";
    assert.equal(
      lammps.findError?.({ stdout, stderr: "" }),
      "ERROR: Unknown command: foo (src/input.cpp:274)\nLast command: foo",
    );
    assert.equal(
      lammps.findError?.({ stdout: "Loop time of 1 on 1 procs\n", stderr: "" }),
      undefined,
    );
    assert.equal(
      lammps.parseVersion(
        "\nLarge-scale Atomic/Molecular Massively Parallel Simulator - 29 Sep 2021 - Update 2\n",
      ),
      "29 Sep 2021 - Update 2",
    );
  });
});

describe("calculix recipe", () => {
  it("runs ccx -i on the job name with OpenMP threads from the machine's CPUs", async () => {
    const { commands, env } = await plan(calculix, { "beam.inp": "" }, { mainFile: "beam.inp" });
    assert.deepEqual(commands, [["ccx", "-i", "beam"]]);
    assert.deepEqual(env, { OMP_NUM_THREADS: "{cpus}" });
    await assert.rejects(
      plan(calculix, {}, { mainFile: "beam.inp", np: 2 }),
      invalid(/threads, not MPI/),
    );
    assert.equal(calculix.parseVersion("\nThis is Version 2.20\n"), "2.20");
  });

  it("finds *ERROR lines (ccx may exit 0 after one)", () => {
    const stdout = "CalculiX Version 2.20\n *ERROR in readinput: cannot open file x.inp\n\n";
    assert.equal(
      calculix.findError?.({ stdout, stderr: "" }),
      " *ERROR in readinput: cannot open file x.inp",
    );
  });
});

describe("openfoam recipe", () => {
  const cavity = {
    "system/controlDict": "/* header */\napplication     icoFoam; // the solver\nendTime 0.5;\n",
    "system/blockMeshDict": "",
    "0/U": "",
  };

  it("reads application from controlDict and runs blockMesh first", async () => {
    const { commands } = await plan(openfoam, cavity, { mainFile: "system/controlDict" });
    assert.deepEqual(commands, [["blockMesh"], ["icoFoam"]]);
    assert.equal(
      readApplication("// application fooFoam;\n/* application barFoam; */\n"),
      undefined,
    );
  });

  it("runs the case's Allrun when there is one", async () => {
    const { commands } = await plan(openfoam, { Allrun: "", ...cavity }, { mainFile: "Allrun" });
    assert.deepEqual(commands, [["bash", "./Allrun"]]);
  });

  it("decomposes, runs in parallel and reconstructs with np, which needs decomposeParDict", async () => {
    await assert.rejects(
      plan(openfoam, cavity, { mainFile: "system/controlDict", np: 2 }),
      invalid(/needs system\/decomposeParDict/),
    );
    const files = { ...cavity, "system/decomposeParDict": "" };
    const { commands } = await plan(openfoam, files, { mainFile: "system/controlDict", np: 2 });
    assert.deepEqual(commands, [
      ["blockMesh"],
      ["decomposePar", "-force"],
      ["mpirun", "--oversubscribe", "-np", "2", "icoFoam", "-parallel"],
      ["reconstructPar"],
    ]);
  });

  it("names a missing application or mesh", async () => {
    await assert.rejects(
      plan(
        openfoam,
        { "system/controlDict": "endTime 1;", "system/blockMeshDict": "" },
        { mainFile: "system/controlDict" },
      ),
      invalid(/names no solver; add "application icoFoam;"/),
    );
    await assert.rejects(
      plan(
        openfoam,
        { "system/controlDict": "application simpleFoam;" },
        { mainFile: "system/controlDict" },
      ),
      invalid(/has no mesh: add system\/blockMeshDict/),
    );
    const meshed = {
      "system/controlDict": "application simpleFoam;",
      "constant/polyMesh/points": "",
    };
    assert.deepEqual((await plan(openfoam, meshed, { mainFile: "system/controlDict" })).commands, [
      ["simpleFoam"],
    ]);
  });

  it("finds FOAM FATAL ERROR and the lines that explain it", () => {
    const stderr =
      '\n\n--> FOAM FATAL ERROR :\n    Cannot find file "points"\n\n    From function x\n';
    assert.match(
      openfoam.findError?.({ stdout: "", stderr }) ?? "",
      /FOAM FATAL ERROR :\n {4}Cannot find file "points"/,
    );
  });
});

describe("recipe helpers", () => {
  it("containerCommand mounts the working directory at the same path and passes env keys", () => {
    assert.deepEqual(containerCommand("podman", "img:1", ["lmp", "-in", "in.lj"], ["T"]), [
      "podman",
      "run",
      "--rm",
      "--volume",
      "{workdir}:{workdir}",
      "--workdir",
      "{workdir}",
      "--env",
      "T",
      "img:1",
      "lmp",
      "-in",
      "in.lj",
    ]);
    assert.deepEqual(containerCommand("apptainer", "img:1", ["ccx"]), [
      "apptainer",
      "exec",
      "--bind",
      "{workdir}",
      "--pwd",
      "{workdir}",
      "docker://img:1",
      "ccx",
    ]);
  });

  it("linesMatching keeps matches and the lines after them, without blank lines or repeats", () => {
    assert.equal(linesMatching("a\nE1\nb\n\nE2\nc", /^E/, 1), "E1\nb\nE2\nc");
    assert.equal(linesMatching("E1\nE2\nx", /^E/, 1), "E1\nE2\nx");
    assert.equal(linesMatching("nothing", /^E/), undefined);
  });
});
