import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Name } from "../../src/protocol/common.js";
import { RECIPES, findRecipe, recipeNames } from "../../src/simulators/catalog.js";
import { custom } from "../../src/simulators/custom.js";
import {
  compareVersions,
  findMainInputCandidates,
  firstVersionNumber,
  matchesPattern,
  type MainInputSpec,
} from "../../src/simulators/recipe.js";

describe("matchesPattern", () => {
  it("matches * and ? against the whole name, case-sensitively", () => {
    assert.equal(matchesPattern("beam.inp", "*.inp"), true);
    assert.equal(matchesPattern("beam.inp.bak", "*.inp"), false);
    assert.equal(matchesPattern("BEAM.INP", "*.inp"), false);
    assert.equal(matchesPattern("run1.mdp", "run?.mdp"), true);
    assert.equal(matchesPattern("run12.mdp", "run?.mdp"), false);
    assert.equal(matchesPattern("system", "system"), true);
  });

  it("treats regular-expression characters in patterns literally", () => {
    assert.equal(matchesPattern("a+b.(1)", "a+b.(1)"), true);
    assert.equal(matchesPattern("aab.x1", "a+b.(1)"), false);
    assert.equal(matchesPattern("fileXinp", "file.inp"), false);
  });

  it("never lets * cross a directory separator", () => {
    assert.equal(matchesPattern("sub/beam.inp", "*.inp"), false);
  });
});

describe("findMainInputCandidates", () => {
  const spec: MainInputSpec = {
    option: "mainFile",
    description: "the job file",
    patterns: ["main.inp", "*.inp"],
  };

  it("prefers the first pattern that matches anything", () => {
    assert.deepEqual(findMainInputCandidates(spec, ["z.inp", "main.inp", "a.inp"]), ["main.inp"]);
  });

  it("returns every match of the best pattern, sorted, so the caller can ask the user to pick", () => {
    assert.deepEqual(findMainInputCandidates(spec, ["z.inp", "notes.txt", "a.inp"]), [
      "a.inp",
      "z.inp",
    ]);
  });

  it("returns nothing when no file matches", () => {
    assert.deepEqual(findMainInputCandidates(spec, ["notes.txt"]), []);
  });
});

describe("versions", () => {
  it("finds the first dotted version number in a program's output", () => {
    assert.equal(
      firstVersionNumber(":-) GROMACS - gmx, 2024.2 (-:\nExecutable: /usr/bin/gmx"),
      "2024.2",
    );
    assert.equal(firstVersionNumber("CalculiX Version 2.21, Copyright(C)"), "2.21");
    assert.equal(firstVersionNumber("build 42"), "42");
    assert.equal(firstVersionNumber("no digits here"), undefined);
  });

  it("compares versions numerically, so 1.10 is newer than 1.9", () => {
    assert.ok(compareVersions("1.10", "1.9") > 0);
    assert.ok(compareVersions("1.9", "1.10") < 0);
    assert.equal(compareVersions("2.0", "2"), 0);
    assert.ok(compareVersions("2024.2", "2023.5") > 0);
    assert.ok(compareVersions("1.0-rc1", "1.0-rc2") < 0);
  });
});

describe("catalog", () => {
  it("finds recipes by name and nothing for an unknown name", () => {
    assert.equal(findRecipe("custom"), custom);
    assert.equal(findRecipe("no-such-simulator"), undefined);
    assert.ok(recipeNames().includes("custom"));
  });

  it("has unique names that are valid task simulator names", () => {
    const names = RECIPES.map((recipe) => recipe.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of names)
      assert.ok(Name.safeParse(name).success, `${name} is not a valid name`);
  });

  it("gives every recipe default commands that are argv arrays of non-empty strings", () => {
    for (const recipe of RECIPES) {
      // A name each recipe's first pattern matches ("*.inp" → "case.inp").
      const pattern = recipe.mainInput?.patterns[0];
      const mainFile = pattern?.replace(/\*/g, "case").replace(/\?/g, "1");
      for (const command of recipe.defaultCommands({ mainFile, cpus: 4 })) {
        assert.ok(command.length > 0, `${recipe.name}: an empty command`);
        for (const arg of command)
          assert.ok(typeof arg === "string" && arg !== "", `${recipe.name}: bad arg`);
      }
    }
  });

  it("custom has no default commands, needs no binary and reports itself as builtin", () => {
    assert.deepEqual(custom.defaultCommands({ mainFile: "x", cpus: 8 }), []);
    assert.deepEqual(custom.binaries, []);
    assert.equal(custom.versionCommand, undefined);
    assert.equal(custom.parseVersion(""), "builtin");
    assert.equal(custom.mainInput, undefined);
  });
});
