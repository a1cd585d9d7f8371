// A recipe under MPI: LAMMPS with `np: 2` runs as `mpirun -np 2 lmp …` on one machine (as root
// here, which Open MPI refuses unless told), and LAMMPS itself reports two processes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { Flotilla, MachineGroup, simulators } from "../../src/sdk/index.js";
import { startRealServer, type RealServer } from "../helpers/real-server.js";
import { describeWithSimulators } from "../helpers/simulators-support.js";

const MPIRUN_MISSING = (() => {
  try {
    execFileSync("mpirun", ["--version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "mpirun is not on this host (apt-get install openmpi-bin, see .ci/run)";
  }
})();
if (MPIRUN_MISSING !== undefined && process.env.CI !== "true")
  process.stderr.write(`\n*** SKIPPED LAMMPS under MPI: ${MPIRUN_MISSING}\n\n`);

const SMALL_LJ = `units lj
atom_style atomic
lattice fcc 0.8442
region box block 0 4 0 4 0 4
create_box 1 box
create_atoms 1 box
mass 1 1.0
velocity all create 1.0 87287 loop geom
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
fix 1 all nve
thermo 50
run 100
`;

describeWithSimulators("a recipe under MPI", ["lammps"], () => {
  let server: RealServer;
  let work: string;
  before(async () => {
    server = await startRealServer();
    work = await mkdtemp(join(tmpdir(), "flotilla-mpi-"));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it(
    "LAMMPS with np 2 runs under mpirun on 2 processes",
    { skip: process.env.CI === "true" ? false : (MPIRUN_MISSING ?? false) },
    async () => {
      assert.equal(MPIRUN_MISSING, undefined, MPIRUN_MISSING);
      const client = new Flotilla({ url: server.url, token: server.token });
      const group = new MachineGroup({ numMachines: 1, client });
      await group.start();
      const input = join(work, "lj");
      await mkdir(input, { recursive: true });
      await writeFile(join(input, "in.small"), SMALL_LJ);
      const task = await simulators.lammps().run(input, { on: group, options: { np: 2 } });
      const final = await task.wait();
      assert.equal(final.status, "success", final.reason);
      assert.equal(final.commands[0]?.[0], "mpirun");
      assert.ok(final.commands[0]?.includes("-np"));
      const dir = await task.downloadOutputs(join(work, "out"));
      const log = await readFile(join(dir, "log.lammps"), "utf8");
      assert.match(log, /Loop time of [\d.e-]+ on 2 procs for 100 steps with 256 atoms/);
      await group.terminate();
    },
  );
});
