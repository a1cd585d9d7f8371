/**
 * calculix-cantilever: a steel cantilever of four brick elements (input/cantilever.inp) with
 * 100 N at its free end, `ccx -i cantilever`. Prints the tip deflection from cantilever.dat next
 * to beam theory's P L^3 / (3 E I).
 *
 *     npx tsc -p . && node build/examples/calculix-cantilever/main.js
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simulators } from "../../src/sdk/index.js";
import { inputDir, report, resultsDir, runExample } from "../shared/run-example.js";

const NAME = "calculix-cantilever";
const BEAM_THEORY_MM = (100 * 100 ** 3) / ((3 * 210_000 * (10 * 10 ** 3)) / 12);

await runExample(NAME, 1, async (group) => {
  const task = await simulators.calculix().run(inputDir(NAME), { on: group, project: NAME });
  const final = await task.wait();
  if (!report(final)) return false;
  const dir = await task.downloadOutputs(resultsDir(NAME));
  const dat = await readFile(join(dir, "cantilever.dat"), "utf8");
  // "        17 -1.406126E-02 -4.117689E-05 -1.842951E-01": node, ux, uy, uz
  const uz = [...dat.matchAll(/^\s+(?:17|18|19|20)\s+\S+\s+\S+\s+(\S+)$/gm)].map((m) =>
    Number(m[1]),
  );
  const tip = uz.reduce((sum, value) => sum + value, 0) / uz.length;
  console.log(
    `tip deflection ${(-tip).toFixed(4)} mm; beam theory ${BEAM_THEORY_MM.toFixed(4)} mm (${dir})`,
  );
  return uz.length === 4;
});
