/**
 * openfoam-cavity: the lid-driven cavity at Re = 10 (input/: blockMeshDict, controlDict naming
 * icoFoam, fvSchemes, fvSolution, transportProperties, 0/U, 0/p), run as blockMesh then icoFoam.
 * Prints the time directories written and the velocity at a few cells of the last one.
 *
 *     npx tsc -p . && node build/examples/openfoam-cavity/main.js
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { simulators } from "../../src/sdk/index.js";
import { inputDir, report, resultsDir, runExample } from "../shared/run-example.js";

const NAME = "openfoam-cavity";

await runExample(NAME, 1, async (group) => {
  const task = await simulators.openfoam().run(inputDir(NAME), { on: group, project: NAME });
  const final = await task.wait();
  if (!report(final)) return false;
  const dir = await task.downloadOutputs(resultsDir(NAME));
  const times = (await readdir(dir)).filter((name) => /^\d+(\.\d+)?$/.test(name));
  times.sort((a, b) => Number(a) - Number(b));
  console.log(`time directories: ${times.join(", ")} (${dir})`);
  const last = times.at(-1);
  if (last === undefined) return false;
  const u = await readFile(join(dir, last, "U"), "utf8");
  const cells = /internalField\s+nonuniform\s+List<vector>\s+(\d+)/.exec(u);
  console.log(`${last}/U has ${cells?.[1] ?? "?"} cell velocities`);
  return cells?.[1] === "400";
});
