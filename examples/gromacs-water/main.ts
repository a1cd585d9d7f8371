/**
 * gromacs-water: 0.5 ps of MD of a 2 nm box of SPC/E water (input/: md.mdp, conf.gro built with
 * gmx solvate, topol.top), `gmx grompp` then `gmx mdrun` with the machine's CPUs as threads.
 * Prints the files GROMACS wrote and the last line of md.log's energies.
 *
 *     npx tsc -p . && node build/examples/gromacs-water/main.js
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { simulators } from "../../src/sdk/index.js";
import { inputDir, report, resultsDir, runExample } from "../shared/run-example.js";

const NAME = "gromacs-water";

await runExample(NAME, 1, async (group) => {
  const task = await simulators.gromacs().run(inputDir(NAME), { on: group, project: NAME });
  const final = await task.wait();
  if (!report(final)) return false;
  const dir = await task.downloadOutputs(resultsDir(NAME));
  console.log(`outputs in ${dir}: ${(await readdir(dir)).sort().join(", ")}`);
  const log = await readFile(join(dir, "md.log"), "utf8");
  const averages = log.indexOf("<====  A V E R A G E S  ====>");
  if (averages >= 0) console.log(log.slice(averages, averages + 600));
  return true;
});
