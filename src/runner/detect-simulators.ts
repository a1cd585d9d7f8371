// What this machine can run, reported at register so `flotilla simulators list` can show it and
// the server can refuse tasks no machine of a group can run. Recipes with an environment script
// (OpenFOAM's etc/bashrc) are checked with that script sourced, as their commands will run.
import { execFile } from "node:child_process";
import { access, constants, readdir } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { RECIPES } from "../simulators/catalog.js";
import { matchesPattern, type SimulatorRecipe } from "../simulators/recipe.js";
import { sourcedCommand } from "./host-commands.js";

const run = promisify(execFile);
const VERSION_TIMEOUT_MS = 10_000;

/** What detection found: name → version, and the environment script of recipes that have one. */
export interface HostSimulators {
  readonly simulators: Record<string, string>;
  readonly environmentScripts: Record<string, string>;
}

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

async function outputOf(argv: readonly string[], path: string): Promise<string | undefined> {
  const [program, ...args] = argv;
  if (program === undefined) return undefined;
  const env = { ...process.env, PATH: path };
  try {
    const { stdout, stderr } = await run(program, args, { timeout: VERSION_TIMEOUT_MS, env });
    return `${stdout}\n${stderr}`;
  } catch (error) {
    // Some tools print their version and exit non-zero; use what they printed.
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    return stdout === "" && stderr === "" ? undefined : `${stdout}\n${stderr}`;
  }
}

/** The first existing file among `candidates`, where `*` may stand for part of one segment. */
export async function findFirstFile(candidates: readonly string[]): Promise<string | undefined> {
  for (const candidate of candidates) {
    const [found] = await expand(
      candidate.split("/").filter((part) => part !== ""),
      "/",
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

async function expand(parts: readonly string[], base: string): Promise<string[]> {
  const [head, ...rest] = parts;
  if (head === undefined) {
    return (await access(base, constants.R_OK).then(
      () => true,
      () => false,
    ))
      ? [base]
      : [];
  }
  const names = head.includes("*")
    ? (await readdir(base).catch(() => [] as string[]))
        .filter((n) => matchesPattern(n, head))
        .sort()
    : [head];
  // Newest first when a pattern matches several installs (openfoam2312 before openfoam2212).
  for (const name of names.reverse()) {
    const found = await expand(rest, join(base, name));
    if (found.length > 0) return found;
  }
  return [];
}

async function detectOne(
  recipe: SimulatorRecipe,
  path: string,
): Promise<{ version: string; script?: string } | undefined> {
  let script: string | undefined;
  if (recipe.environment !== undefined) {
    script = await findFirstFile(recipe.environment.sourceScripts);
    if (script === undefined) return undefined;
    const setup = script;
    const checks = await Promise.all(
      recipe.binaries.map((binary) =>
        outputOf(sourcedCommand(setup, ["sh", "-c", `command -v ${binary}`]), path),
      ),
    );
    if (!checks.every((output) => output !== undefined && output.trim() !== "")) return undefined;
  } else {
    const present = await Promise.all(recipe.binaries.map((binary) => isOnPath(binary, path)));
    if (!present.every(Boolean)) return undefined;
  }
  const versionCommand = recipe.versionCommand;
  const output =
    versionCommand === undefined
      ? ""
      : await outputOf(
          script === undefined ? versionCommand : sourcedCommand(script, versionCommand),
          path,
        );
  const version = recipe.parseVersion(output ?? "") ?? "unknown";
  return script === undefined ? { version } : { version, script };
}

/** Simulators found on this host: every recipe whose binaries (and environment) are there. */
export async function detectHostSimulators(path = process.env.PATH ?? ""): Promise<HostSimulators> {
  const simulators: Record<string, string> = {};
  const environmentScripts: Record<string, string> = {};
  await Promise.all(
    RECIPES.map(async (recipe) => {
      const found = await detectOne(recipe, path);
      if (found === undefined) return;
      simulators[recipe.name] = found.version;
      if (found.script !== undefined) environmentScripts[recipe.name] = found.script;
    }),
  );
  return { simulators, environmentScripts };
}

/** Simulators found on this host, name → version: every recipe whose binaries are there. */
export async function detectSimulators(
  path = process.env.PATH ?? "",
): Promise<Record<string, string>> {
  return (await detectHostSimulators(path)).simulators;
}

/** CPU count and memory of this host, as register reports them. */
export function describeHost(): { cpus: number; memoryBytes: number } {
  return { cpus: availableParallelism(), memoryBytes: totalmem() };
}
