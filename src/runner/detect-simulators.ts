// What this machine can run, reported at register so `flotilla simulators list` can show it and
// the server can refuse tasks no machine of a group can run.
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { RECIPES } from "../simulators/catalog.js";
import type { SimulatorRecipe } from "../simulators/recipe.js";

const run = promisify(execFile);
const VERSION_TIMEOUT_MS = 10_000;

async function isOnPath(program: string, path: string): Promise<boolean> {
  for (const dir of path.split(delimiter).filter((entry) => entry !== "")) {
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

async function versionOf(recipe: SimulatorRecipe): Promise<string> {
  if (recipe.versionCommand === undefined) return recipe.parseVersion("") ?? "unknown";
  const [program, ...args] = recipe.versionCommand;
  if (program === undefined) return "unknown";
  try {
    const { stdout, stderr } = await run(program, args, { timeout: VERSION_TIMEOUT_MS });
    return recipe.parseVersion(`${stdout}\n${stderr}`) ?? "unknown";
  } catch (error) {
    // Some tools print their version and exit non-zero; use what they printed.
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    return recipe.parseVersion(`${stdout}\n${stderr}`) ?? "unknown";
  }
}

/** Simulators found on this host, name → version: every recipe whose binaries are on PATH. */
export async function detectSimulators(
  path = process.env.PATH ?? "",
): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  await Promise.all(
    RECIPES.map(async (recipe) => {
      const present = await Promise.all(recipe.binaries.map((binary) => isOnPath(binary, path)));
      if (present.every(Boolean)) found[recipe.name] = await versionOf(recipe);
    }),
  );
  return found;
}

/** CPU count and memory of this host, as register reports them. */
export function describeHost(): { cpus: number; memoryBytes: number } {
  return { cpus: availableParallelism(), memoryBytes: totalmem() };
}
