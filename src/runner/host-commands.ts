// A task's commands as this machine runs them: placeholders filled with what only the machine
// knows (its CPUs, the working directory), and the recipe's environment script sourced first
// (OpenFOAM). The task record keeps the commands as submitted.
import type { TaskView } from "../protocol/tasks.js";
import { findRecipe } from "../simulators/catalog.js";
import { PLACEHOLDERS, isContainerCommand } from "../simulators/recipe.js";

/** What the machine knows that a task's commands may need. */
export interface HostFacts {
  readonly cpus: number;
  /** Recipe name → the environment script found at detection (see RecipeEnvironment). */
  readonly environmentScripts: Readonly<Record<string, string>>;
  /** Recipe name → version, as reported at register. */
  readonly simulators: Readonly<Record<string, string>>;
}

// `$0` is the script and `"$@"` the argv: nothing of the argv is parsed by the shell.
const SOURCE_THEN_EXEC = '. "$0" >/dev/null 2>&1; exec "$@"';

/** `argv` run with `script` sourced first, through bash. */
export function sourcedCommand(script: string, argv: readonly string[]): string[] {
  return ["bash", "-c", SOURCE_THEN_EXEC, script, ...argv];
}

function fill(text: string, values: Readonly<Record<string, string>>): string {
  let filled = text;
  for (const [placeholder, value] of Object.entries(values)) {
    filled = filled.split(placeholder).join(value);
  }
  return filled;
}

/**
 * Why this machine cannot run the task (its simulator's binaries are not here), or undefined.
 * Container commands need the runtime, not the simulator, so they are not checked here.
 */
export function missingSimulator(task: TaskView, host: HostFacts): string | undefined {
  const recipe = findRecipe(task.simulator);
  if (recipe === undefined || recipe.binaries.length === 0) return undefined;
  if (task.commands.every((argv) => isContainerCommand(argv))) return undefined;
  if (host.simulators[task.simulator] !== undefined) return undefined;
  const setup =
    recipe.environment === undefined
      ? ""
      : ` with one of ${recipe.environment.sourceScripts.join(", ")}`;
  return `this machine has no ${task.simulator}: ${recipe.binaries.join(", ")} not found on its PATH${setup}; install it on the group's machines or run it in a container image`;
}

/** The task as this machine runs it: placeholders filled, environment script sourced. */
export function prepareForHost(task: TaskView, workingDir: string, host: HostFacts): TaskView {
  const values = { [PLACEHOLDERS.cpus]: String(host.cpus), [PLACEHOLDERS.workdir]: workingDir };
  const script = host.environmentScripts[task.simulator];
  const commands = task.commands.map((argv) => {
    const filled = argv.map((arg) => fill(arg, values));
    return script === undefined || isContainerCommand(filled)
      ? filled
      : sourcedCommand(script, filled);
  });
  const env = Object.fromEntries(
    Object.entries(task.env).map(([key, value]) => [key, fill(value, values)]),
  );
  return { ...task, commands, env: { FLOTILLA_CPUS: String(host.cpus), ...env } };
}
