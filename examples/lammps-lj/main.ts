/**
 * lammps-lj: a Lennard-Jones fluid (input/in.lj) at four starting temperatures, in parallel on a
 * local group of four machines, each `lmp -in in.lj -var T <value>`. Prints the temperature each
 * run started from and ended at (NVE: kinetic energy flows into potential energy).
 *
 *     npx tsc -p . && node build/examples/lammps-lj/main.js
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simulators } from "../../src/sdk/index.js";
import { inputDir, report, resultsDir, runExample } from "../shared/run-example.js";

const NAME = "lammps-lj";
const TEMPERATURES = [0.8, 1.2, 1.6, 2.0];

await runExample(NAME, TEMPERATURES.length, async (group) => {
  const lammps = simulators.lammps();
  const tasks = await Promise.all(
    TEMPERATURES.map((T) =>
      lammps.run(inputDir(NAME), { on: group, project: NAME, options: { vars: { T } } }),
    ),
  );
  let ok = true;
  for (const [i, task] of tasks.entries()) {
    const final = await task.wait();
    ok = report(final) && ok;
    if (final.status !== "success") continue;
    const dir = await task.downloadOutputs(resultsDir(NAME, `T-${TEMPERATURES[i]}`));
    // final.txt: "T_initial 2.0 T_final 1.03 E_total -3.78"
    console.log(`  ${(await readFile(join(dir, "final.txt"), "utf8")).trim()}  (${dir})`);
  }
  return ok;
});
