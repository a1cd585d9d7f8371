/**
 * Every simulator recipe flotilla knows. Adding one is a new file in this directory and one line
 * in {@link RECIPES}.
 */
import { calculix } from "./calculix.js";
import { custom } from "./custom.js";
import { gromacs } from "./gromacs.js";
import { lammps } from "./lammps.js";
import { openfoam } from "./openfoam.js";
import type { SimulatorRecipe } from "./recipe.js";

/** All recipes, in the order `flotilla simulators list` shows them. */
export const RECIPES: readonly SimulatorRecipe[] = [calculix, custom, gromacs, lammps, openfoam];

/** The recipe called `name`, or undefined when there is none. */
export function findRecipe(name: string): SimulatorRecipe | undefined {
  return RECIPES.find((recipe) => recipe.name === name);
}

/** The names of all recipes, for messages such as "use one of: custom, gromacs". */
export function recipeNames(): string[] {
  return RECIPES.map((recipe) => recipe.name);
}
