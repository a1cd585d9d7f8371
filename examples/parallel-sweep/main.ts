/**
 * parallel-sweep: the seed's "Parallel Execution Workflow" on flotilla.
 *
 * It starts a private flotilla server (data in examples/parallel-sweep/.flotilla), starts a local
 * machine group of 4 machines, submits one task per scenario in examples/parallel-sweep/scenarios/
 * (a 2-D heat-diffusion run that differs only in the diffusivity alpha), waits for each in turn
 * while the others keep running, prints how long each phase took, downloads every task's outputs
 * to results/<scenario>/, compares the final temperatures, and then terminates the group and stops
 * the server, also when something fails. It exits 1 if any task did not succeed.
 *
 * Run it from the repository root:
 *
 *     npm start
 *
 * The solver (solver/heat2d.mjs) is plain JavaScript that needs only Node, so each task's input is
 * just `heat2d.mjs` + the scenario's `case.json`, assembled in a temp dir and run as
 * `node heat2d.mjs`. See README.md for the physics and the outputs.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  Flotilla,
  MachineGroup,
  isFlotillaError,
  openLocalServer,
  simulators,
  type Task,
  type TaskView,
} from "../../src/sdk/index.js";

// tsc puts this file in build/examples/parallel-sweep/; the solver and the scenarios are not
// compiled, so find them in the source tree.
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const EXAMPLE_DIR = join(REPO_ROOT, "examples", "parallel-sweep");
const SOLVER = join(EXAMPLE_DIR, "solver", "heat2d.mjs");
const SCENARIOS_DIR = join(EXAMPLE_DIR, "scenarios");
// Tests point these elsewhere; a user gets the defaults.
const DATA_DIR = process.env.SWEEP_DATA_DIR ?? join(EXAMPLE_DIR, ".flotilla");
const RESULTS_DIR = process.env.SWEEP_RESULTS_DIR ?? join(REPO_ROOT, "results");
const NUM_MACHINES = 4;
const PROJECT = "parallel-sweep";

/** The part of the solver's summary.json this example reads. */
const HeatSummary = z.object({
  status: z.string(),
  steps: z.number(),
  simulatedTime: z.number(),
  maxTemperature: z.number(),
  meanTemperature: z.number(),
  energy: z.number(),
  wallTimeMs: z.number(),
  case: z.object({ alpha: z.number() }),
  initial: z.object({ energy: z.number() }),
  checks: z.object({ maxPrinciple: z.boolean(), energyBalance: z.boolean() }),
});
type HeatSummary = z.infer<typeof HeatSummary>;

interface Outcome {
  readonly scenario: string;
  readonly task: TaskView;
  readonly summary?: HeatSummary | undefined;
}

async function main(): Promise<boolean> {
  const scenarios = await listScenarios();
  const inputsDir = await mkdtemp(join(tmpdir(), "flotilla-parallel-sweep-"));
  try {
    const inputs = [];
    for (const scenario of scenarios) inputs.push(await assembleInput(inputsDir, scenario));
    console.log(`Starting a flotilla server (data in ${DATA_DIR})...`);
    const server = await openLocalServer({ dataDir: DATA_DIR, port: 0 });
    try {
      console.log(`Server at ${server.url}`);
      return await runSweep(new Flotilla(server.connection), scenarios, inputs);
    } finally {
      await server.close();
      console.log("Server stopped");
    }
  } finally {
    await rm(inputsDir, { recursive: true, force: true });
  }
}

/** The seed's workflow: start a group, submit every scenario, then wait for each in turn. */
async function runSweep(
  client: Flotilla,
  scenarios: readonly string[],
  inputs: readonly string[],
): Promise<boolean> {
  const group = new MachineGroup({ provider: "local", numMachines: NUM_MACHINES, client });
  try {
    const started = await group.start();
    console.log(`Machine group ${started.name} started with ${started.numMachines} local machines`);
    const simulator = simulators.custom();

    // Submit the batch: run() returns as soon as the input is uploaded.
    const tasks: Task[] = [];
    for (const [i, scenario] of scenarios.entries()) {
      const task = await simulator.run(inputs[i]!, {
        on: group,
        project: PROJECT,
        commands: [["node", "heat2d.mjs"]],
      });
      tasks.push(task);
      console.log(`✓ Submitted ${scenario}: ${task.id}`);
    }
    console.log(`Submitted ${tasks.length} tasks in parallel`);

    // Process the results in order; the later tasks keep running meanwhile.
    const outcomes: Outcome[] = [];
    for (const [i, task] of tasks.entries()) {
      const scenario = scenarios[i]!;
      console.log(`⏳ Waiting for task ${i + 1}/${tasks.length} (${scenario}, ${task.id})...`);
      outcomes.push(await collect(scenario, task));
    }
    printComparison(outcomes);
    return outcomes.every(
      (outcome) => outcome.task.status === "success" && outcome.summary !== undefined,
    );
  } finally {
    // The server stops next either way; a failed terminate is reported, not thrown, so that the
    // server (and with it the group's runner processes) is still stopped.
    if (group.name !== undefined) {
      await group.terminate().then(
        (view) => console.log(`Machine group ${view.name} ${view.status}`),
        (error: unknown) =>
          console.error(`could not terminate machine group ${group.name}: ${message(error)}`),
      );
    }
  }
}

async function listScenarios(): Promise<string[]> {
  const entries = await readdir(SCENARIOS_DIR, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  if (names.length === 0) throw new Error(`no scenarios in ${SCENARIOS_DIR}`);
  return names.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/** A task's input directory: the one shared solver next to the scenario's case.json. */
async function assembleInput(inputsDir: string, scenario: string): Promise<string> {
  const dir = join(inputsDir, scenario);
  await mkdir(dir, { recursive: true });
  await copyFile(SOLVER, join(dir, "heat2d.mjs"));
  await copyFile(join(SCENARIOS_DIR, scenario, "case.json"), join(dir, "case.json"));
  return dir;
}

/** Waits for one task, reports it, and downloads its outputs when it succeeded. */
async function collect(scenario: string, task: Task): Promise<Outcome> {
  const final = await task.wait();
  if (final.status !== "success") {
    // The reason usually quotes the end of stderr already; otherwise fetch it.
    const reason = final.reason ?? `exit code ${final.exitCode ?? "unknown"}`;
    const [first, ...rest] = reason.trim().split("\n");
    console.log(`❌ ${scenario} ${final.status}: ${first}`);
    let details = rest.join("\n");
    if (!reason.includes("stderr")) {
      details = (await task.getLogs({ stream: "stderr" }).catch(() => "")).trim();
    }
    if (details !== "") console.log(indent(details.split("\n").slice(-10).join("\n")));
    printPhases(final);
    return { scenario, task: final };
  }
  console.log(`✅ ${scenario} completed successfully`);
  printPhases(final);
  const dir = await task.downloadOutputs(join(RESULTS_DIR, scenario));
  const files = final.metrics.outputFiles ?? 0;
  console.log(
    `   ${files} output files (${formatBytes(final.metrics.outputBytes ?? 0)}) in ${dir}`,
  );
  try {
    const summary = HeatSummary.parse(
      JSON.parse(await readFile(join(dir, "summary.json"), "utf8")),
    );
    return { scenario, task: final, summary };
  } catch (error) {
    console.log(`❌ ${scenario}: cannot read ${join(dir, "summary.json")}: ${message(error)}`);
    return { scenario, task: final };
  }
}

function printPhases(task: TaskView): void {
  const m = task.metrics;
  const phases: [string, number | undefined][] = [
    ["input upload", m.inputUploadMs],
    ["queue", m.queueMs],
    ["input download", m.inputDownloadMs],
    ["computation", m.computationMs],
    ["output upload", m.outputUploadMs],
    ["total", m.totalMs],
  ];
  console.log(`   ${phases.map(([name, ms]) => `${name} ${formatMs(ms)}`).join(" · ")}`);
}

function printComparison(outcomes: readonly Outcome[]): void {
  const header = [
    "scenario",
    "alpha",
    "status",
    "steps",
    "sim time",
    "Tmax",
    "Tmean",
    "energy left",
    "solver wall",
    "checks",
  ];
  const rows = outcomes.map(({ scenario, task, summary: s }) => {
    if (s === undefined) return [scenario, "", task.status, "", "", "", "", "", "", ""];
    const checks = s.checks.maxPrinciple && s.checks.energyBalance ? "ok" : "FAILED";
    return [
      scenario,
      String(s.case.alpha),
      task.status,
      String(s.steps),
      s.simulatedTime.toExponential(2),
      s.maxTemperature.toFixed(3),
      s.meanTemperature.toFixed(3),
      `${((100 * s.energy) / s.initial.energy).toFixed(1)} %`,
      formatMs(s.wallTimeMs),
      checks,
    ];
  });
  const widths = header.map((title, col) =>
    Math.max(title.length, ...rows.map((row) => row[col]!.length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, col) => cell.padEnd(widths[col]!))
      .join("  ")
      .trimEnd();
  console.log(
    "\nFinal temperatures (hot spot of 100 between walls at 0; the same simulated time for each):",
  );
  console.log(line(header));
  console.log(line(widths.map((width) => "-".repeat(width))));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nOutputs in ${RESULTS_DIR}/<scenario>/: summary.json, temperature.pgm, fields/T_<step>.csv`,
  );
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "-";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function indent(text: string): string {
  return text.replace(/^/gm, "   | ");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

try {
  process.exitCode = (await main()) ? 0 : 1;
} catch (error) {
  console.error(
    `parallel-sweep failed: ${isFlotillaError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
}
