// `npm run bench [-- --quick | --profile smoke] [--only throughput,dispatch] [--out dir]`: runs
// the scenarios of bench/README.md side by side with their peers, writes
// <out>/<timestamp>.json and prints a markdown table on stdout (progress goes to stderr).
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import type { BenchContext } from "./context.js";
import { nowMs } from "./lib/stats.js";
import { probeSlurm } from "./lib/slurm.js";
import { PROFILES } from "./profile.js";
import { renderMarkdown } from "./report.js";
import type { BenchRun, ResultRow, ScenarioResult, SkippedColumn } from "./result.js";
import { benchDispatch } from "./scenarios/dispatch.js";
import { benchListing } from "./scenarios/listing.js";
import { benchMemory } from "./scenarios/memory.js";
import { benchOutputs } from "./scenarios/outputs.js";
import { benchSubmitRate } from "./scenarios/submit-rate.js";
import { benchThroughput } from "./scenarios/throughput.js";

type Scenario = (
  ctx: BenchContext,
) => Promise<{ rows: ResultRow[]; skipped: SkippedColumn[]; details: Record<string, unknown> }>;

const SCENARIOS: readonly (readonly [string, string, Scenario])[] = [
  ["throughput", "1. Throughput of trivial tasks", benchThroughput],
  ["dispatch", "2. Dispatch latency", benchDispatch],
  ["submit", "3. Submit rate", benchSubmitRate],
  ["outputs", "4. Outputs download", benchOutputs],
  ["listing", "5. Listing at scale", benchListing],
  ["memory", "6. Server memory", benchMemory],
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

async function probePostgres(url: string): Promise<{ url: string } | { unavailable: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return { url };
  } catch (error) {
    return {
      unavailable: `PostgreSQL is unreachable at ${url} (${error instanceof Error ? error.message : String(error)}); set FLOTILLA_BENCH_PG_URL`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function runScenario(
  ctx: BenchContext,
  [name, title, scenario]: readonly [string, string, Scenario],
): Promise<ScenarioResult> {
  const started = nowMs();
  ctx.log(`== ${title}`);
  try {
    const result = await scenario(ctx);
    for (const skip of result.skipped)
      ctx.log(`*** SKIPPED ${name} / ${skip.column}: ${skip.reason}`);
    return { name, title, ...result, elapsedMs: Math.round(nowMs() - started) };
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    ctx.log(`*** ${name} FAILED: ${message}`);
    return {
      name,
      title,
      rows: [],
      skipped: [],
      details: {},
      elapsedMs: Math.round(nowMs() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

const USAGE = `usage: npm run bench [-- --quick | --profile full|quick|smoke] [--only a,b] [--out dir]
  --quick         the same scenarios, smaller (about a minute)
  --profile NAME  ${Object.keys(PROFILES).join(", ")} (default full)
  --only LIST     some of: ${SCENARIOS.map(([n]) => n).join(", ")}
  --out DIR       where <timestamp>.json goes (default bench/results)
`;

function parseOptions():
  { quick: boolean; profile?: string; only?: string; out?: string } | number {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: "boolean", default: false },
        profile: { type: "string" },
        only: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    return values;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
}

async function main(): Promise<number> {
  const values = parseOptions();
  if (typeof values === "number") return values;
  const profile = values.profile ?? (values.quick ? "quick" : "full");
  const sizes = PROFILES[profile];
  if (sizes === undefined) {
    process.stderr.write(
      `unknown profile ${profile}; use one of: ${Object.keys(PROFILES).join(", ")}\n`,
    );
    return 2;
  }
  const only = values.only?.split(",").map((s) => s.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some(([n]) => n === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown scenario ${unknown.join(", ")}; use: ${SCENARIOS.map(([n]) => n).join(", ")}\n`,
    );
    return 2;
  }
  const outDir = resolve(values.out ?? join(ROOT, "bench", "results"));
  const workDir = await mkdtemp(join(tmpdir(), "flotilla-bench-"));
  const log = (line: string): void => {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };
  const pgUrl =
    process.env.FLOTILLA_BENCH_PG_URL ??
    process.env.FLOTILLA_TEST_PG_URL ??
    "postgres://postgres@127.0.0.1:5432/test";
  const ctx: BenchContext = {
    sizes,
    workDir,
    log,
    slurmUnavailable: await probeSlurm(),
    postgres: await probePostgres(pgUrl),
    runId: `fb${Date.now().toString(36)}${randomBytes(2).toString("hex")}`,
  };
  if (ctx.slurmUnavailable !== undefined)
    log(`*** Slurm columns will be SKIPPED: ${ctx.slurmUnavailable}`);
  if ("unavailable" in ctx.postgres)
    log(`*** PostgreSQL columns will be SKIPPED: ${ctx.postgres.unavailable}`);
  const startedAt = new Date();
  const started = nowMs();
  const scenarios: ScenarioResult[] = [];
  try {
    for (const entry of SCENARIOS) {
      if (only === undefined || only.includes(entry[0]))
        scenarios.push(await runScenario(ctx, entry));
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const run: BenchRun = {
    version: 1,
    profile,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    elapsedMs: Math.round(nowMs() - started),
    host: {
      cpus: availableParallelism(),
      memoryMb: Math.round(totalmem() / 1024 / 1024),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    sizes: { ...sizes },
    scenarios,
  };
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(file, `${JSON.stringify(run, null, 2)}\n`);
  process.stdout.write(renderMarkdown(run));
  process.stdout.write(`\nresults: ${file}\n`);
  return scenarios.some((s) => s.error !== undefined) ? 1 : 0;
}

process.exitCode = await main();
