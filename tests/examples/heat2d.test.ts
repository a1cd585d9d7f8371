// The parallel-sweep example's solver, run as a real child process in a temp dir, as a machine
// runs it: `node heat2d.mjs` next to a case.json.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

// build/tests/examples/ → the source tree's solver (it is plain JavaScript and not compiled).
const SOLVER = fileURLToPath(
  new URL("../../../examples/parallel-sweep/solver/heat2d.mjs", import.meta.url),
);
const TIMEOUT_MS = 60_000;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Measures {
  maxTemperature: number;
  minTemperature: number;
  meanTemperature: number;
  energy: number;
}

interface Summary extends Measures {
  status: "completed" | "converged" | "interrupted";
  steps: number;
  plannedSteps: number;
  simulatedTime: number;
  wallTimeMs: number;
  initial: Measures;
  energyBalance: { boundaryInflow: number; error: number; relativeError: number };
  checks: { maxPrinciple: boolean; energyBalance: boolean };
  fields: string[];
  history: (Measures & { step: number; time: number; residual: number })[];
}

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh working directory holding heat2d.mjs and, unless `caseJson` is undefined, case.json. */
async function workDir(caseJson: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-heat2d-"));
  dirs.push(dir);
  await copyFile(SOLVER, join(dir, "heat2d.mjs"));
  if (caseJson !== undefined) {
    const text = typeof caseJson === "string" ? caseJson : JSON.stringify(caseJson);
    await writeFile(join(dir, "case.json"), text);
  }
  return dir;
}

function startSolver(dir: string): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ["heat2d.mjs"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<Run>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

async function runSolver(dir: string): Promise<Run> {
  return startSolver(dir).done;
}

async function readSummary(dir: string): Promise<Summary> {
  return JSON.parse(await readFile(join(dir, "summary.json"), "utf8")) as Summary;
}

async function readField(dir: string, name: string): Promise<number[][]> {
  const text = await readFile(join(dir, name), "utf8");
  return text
    .trimEnd()
    .split("\n")
    .map((line) => line.split(",").map(Number));
}

async function waitUntil(
  what: string,
  condition: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const hotSpot = { type: "hot-spot", x: 0.5, y: 0.5, radius: 0.15, temperature: 100 };

describe("heat2d solver", { timeout: TIMEOUT_MS }, () => {
  it("cools a hot spot between cold walls within physical bounds, writing fields, summary and image", async () => {
    const dir = await workDir({
      grid: 41,
      alpha: 1,
      steps: 1500,
      outputInterval: 500,
      initial: hotSpot,
    });
    const run = await runSolver(dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.match(
      run.stdout,
      /^step +\d+\/1500 +t=\S+ +Tmax= *[\d.]+ +Tmean= *[\d.]+ +residual=\S+$/m,
    );

    const summary = await readSummary(dir);
    assert.equal(summary.status, "completed");
    assert.equal(summary.steps, 1500);
    assert.equal(summary.initial.maxTemperature, 100);
    // Maximum principle: nothing gets hotter than the initial hot spot or colder than the walls.
    assert.ok(summary.maxTemperature < summary.initial.maxTemperature);
    assert.ok(summary.minTemperature >= 0);
    assert.ok(summary.meanTemperature > 0 && summary.meanTemperature <= summary.maxTemperature);
    // With fixed cold walls the peak decays monotonically and heat only leaves the plate.
    const peaks = summary.history.map((point) => point.maxTemperature);
    for (let i = 1; i < peaks.length; i++)
      assert.ok(peaks[i]! <= peaks[i - 1]!, `Tmax rose at ${i}: ${peaks.join(", ")}`);
    assert.ok(
      summary.energyBalance.boundaryInflow < 0,
      "heat must flow out through the cold walls",
    );
    assert.ok(summary.energy < summary.initial.energy);
    // Energy balance: what is left plus what left through the walls is what there was.
    assert.ok(
      summary.energyBalance.relativeError < 1e-9,
      `balance error ${summary.energyBalance.relativeError}`,
    );
    assert.deepEqual(summary.checks, { maxPrinciple: true, energyBalance: true });

    const expected = [
      "fields/T_000000.csv",
      "fields/T_000500.csv",
      "fields/T_001000.csv",
      "fields/T_001500.csv",
    ];
    assert.deepEqual(summary.fields, expected);
    assert.deepEqual(
      (await readdir(join(dir, "fields"))).sort(),
      expected.map((f) => f.slice("fields/".length)),
    );
    const last = await readField(dir, "fields/T_001500.csv");
    assert.equal(last.length, 41);
    assert.ok(
      last.every(
        (row) => row.length === 41 && row.every((t) => Number.isFinite(t) && t >= 0 && t <= 100),
      ),
    );
    assert.ok(
      Math.abs(last[20]![20]! - summary.maxTemperature) < 1e-3,
      "the peak stays at the centre",
    );

    // The image: 41 x 41 greyscale pixels scaled to the final range, so the centre is white.
    const image = await readFile(join(dir, "temperature.pgm"));
    const header = /^P5\n#[^\n]*\n41 41\n255\n/.exec(image.toString("latin1"));
    assert.ok(
      header,
      `not a 41 x 41 PGM: ${JSON.stringify(image.subarray(0, 100).toString("latin1"))}`,
    );
    const pixels = image.subarray(header[0].length);
    assert.equal(pixels.length, 41 * 41);
    assert.equal(pixels[20 * 41 + 20], 255);
    assert.equal(pixels[0], 0);
  });

  it("conserves total energy with insulated boundaries and tends to a uniform temperature", async () => {
    const dir = await workDir({
      grid: 31,
      alpha: 2,
      steps: 4000,
      boundary: "insulated",
      initial: { ...hotSpot, x: 0.2, y: 0.3 },
    });
    const run = await runSolver(dir);
    assert.equal(run.code, 0, run.stderr);
    const summary = await readSummary(dir);
    const e0 = summary.initial.energy;
    for (const point of summary.history) {
      assert.ok(
        Math.abs(point.energy - e0) / e0 < 1e-6,
        `energy ${point.energy} at step ${point.step}, started ${e0}`,
      );
    }
    assert.equal(summary.energyBalance.boundaryInflow, 0);
    assert.ok(summary.energyBalance.relativeError < 1e-6);
    assert.ok(summary.maxTemperature <= summary.initial.maxTemperature);
    // Diffusion flattens the field towards its (conserved) mean.
    assert.ok(
      summary.maxTemperature - summary.minTemperature < 1,
      `spread ${summary.minTemperature}..${summary.maxTemperature}`,
    );
    assert.ok(Math.abs(summary.meanTemperature - summary.initial.meanTemperature) < 1e-9);
  });

  it("with one heated edge reaches the steady state whose mean is a quarter of the heater temperature", async () => {
    const dir = await workDir({
      grid: 31,
      alpha: 1,
      endTime: 5,
      tolerance: 1e-4,
      initial: { type: "heated-edge", edge: "left", temperature: 100 },
    });
    const run = await runSolver(dir);
    assert.equal(run.code, 0, run.stderr);
    const summary = await readSummary(dir);
    assert.equal(summary.status, "converged");
    assert.ok(summary.steps < summary.plannedSteps);
    // Four rotated copies of the problem add up to "all edges at 100", so the mean is 25.
    assert.ok(Math.abs(summary.meanTemperature - 25) < 0.1, `mean ${summary.meanTemperature}`);
    assert.equal(summary.maxTemperature, 100);
    assert.ok(summary.checks.maxPrinciple && summary.checks.energyBalance);
  });

  it("writes fields while it runs, and on SIGTERM writes what it has and exits 143", async () => {
    const dir = await workDir({
      grid: 151,
      alpha: 1,
      steps: 1_000_000,
      outputInterval: 100,
      initial: hotSpot,
    });
    const { child, done } = startSolver(dir);
    try {
      await waitUntil("the first field snapshot", () =>
        existsSync(join(dir, "fields/T_0000100.csv")),
      );
      assert.equal(child.exitCode, null, "the solver should still be running");
      assert.equal(existsSync(join(dir, "summary.json")), false);
      child.kill("SIGTERM");
      const run = await done;
      assert.equal(run.code, 143, run.stderr);
      const summary = await readSummary(dir);
      assert.equal(summary.status, "interrupted");
      assert.ok(summary.steps >= 100 && summary.steps < summary.plannedSteps);
      const lastField = summary.fields.at(-1)!;
      assert.match(lastField, new RegExp(`T_0*${summary.steps}\\.csv$`));
      assert.equal((await readField(dir, lastField)).length, 151);
      assert.ok(existsSync(join(dir, "temperature.pgm")));
      assert.ok(summary.checks.energyBalance);
    } finally {
      child.kill("SIGKILL");
    }
  });

  const invalid: [string, unknown, RegExp][] = [
    ["no case.json", undefined, /no case\.json in /],
    ["case.json that is not JSON", "{ grid: 10", /not valid JSON/],
    ["alpha = 0", { grid: 10, alpha: 0, steps: 5, initial: hotSpot }, /alpha = 0 is invalid/],
    [
      "a 2 x 2 grid",
      { grid: 2, alpha: 1, steps: 5, initial: hotSpot },
      /grid = 2 is invalid.*from 3/,
    ],
    [
      "neither steps nor endTime",
      { grid: 10, alpha: 1, initial: hotSpot },
      /exactly one of steps or endTime/,
    ],
    ["a misspelt key", { grid: 10, alpah: 1, steps: 5, initial: hotSpot }, /unknown key "alpah"/],
    [
      "an unknown boundary",
      { grid: 10, alpha: 1, steps: 5, boundary: "open", initial: hotSpot },
      /boundary must be/,
    ],
    [
      "an unstable cfl",
      { grid: 10, alpha: 1, steps: 5, cfl: 1.5, initial: hotSpot },
      /cfl = 1.5 is invalid/,
    ],
  ];
  for (const [what, caseJson, message] of invalid) {
    it(`exits 2 with a message on stderr for ${what}`, async () => {
      const dir = await workDir(caseJson);
      const run = await runSolver(dir);
      assert.equal(run.code, 2, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
      assert.match(run.stderr, /^heat2d: invalid case\.json: /);
      assert.match(run.stderr, message);
      assert.equal(existsSync(join(dir, "summary.json")), false);
    });
  }
});
