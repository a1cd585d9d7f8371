/**
 * `custom`: the user's own commands, run as given. Each command is an argv array run without a
 * shell; a user who wants one writes `["sh", "-c", "..."]` themselves.
 */
import type { SimulatorRecipe } from "./recipe.js";

/** The built-in recipe that runs the user's commands as given. */
export const custom: SimulatorRecipe = {
  name: "custom",
  description: "your own commands, run as given (argv arrays, no shell unless you write sh -c)",
  binaries: [],
  parseVersion: () => "builtin",
  // No defaults: run() asks for `commands` when none are given.
  defaultCommands: () => [],
};
