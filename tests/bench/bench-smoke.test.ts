// `npm run bench` in its smallest profile: every scenario's code path runs against a real server,
// real runners, real SQLite (and PostgreSQL and Slurm when they are here), and the result file has
// the shape bench/README.md describes, with numbers that make sense.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { BenchRun, ResultRow } from "../../bench/result.js";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../../bench/main.js");
const SCENARIOS = ["throughput", "dispatch", "submit", "outputs", "listing", "memory"];

async function runBench(
  outDir: string,
  args = ["--profile", "smoke", "--out", outDir],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // A deadline, not a sleep: the run normally ends in well under a minute.
  const timer = setTimeout(() => child.kill("SIGTERM"), 150_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

function rowsOf(run: BenchRun, scenario: string): readonly ResultRow[] {
  const found = run.scenarios.find((s) => s.name === scenario);
  assert.ok(found, `scenario ${scenario} is in the results`);
  assert.equal(found.error, undefined, `scenario ${scenario} failed: ${found.error}`);
  return found.rows;
}

function valueOf(rows: readonly ResultRow[], measure: RegExp): number {
  const row = rows.find((r) => measure.test(r.measure));
  assert.ok(row, `a row ${measure}`);
  assert.equal(typeof row.value, "number", `${row.measure} has a number`);
  return row.value as number;
}

describe("npm run bench options", () => {
  it("answers an unknown option or profile with the usage and exit code 2, and --help with 0", async () => {
    const outDir = await mkdtemp(join(tmpdir(), "flotilla-bench-test-"));
    try {
      const bogus = await runBench(outDir, ["--bogus"]);
      assert.equal(bogus.code, 2);
      assert.match(bogus.stderr, /Unknown option '--bogus'\n.*usage: npm run bench/s);
      const profile = await runBench(outDir, ["--profile", "huge"]);
      assert.equal(profile.code, 2);
      assert.match(profile.stderr, /unknown profile huge; use one of: full, quick, smoke/);
      const help = await runBench(outDir, ["--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--only LIST +some of: throughput, dispatch/);
      assert.deepEqual(await readdir(outDir), [], "nothing was measured or written");
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

describe("npm run bench --profile smoke", () => {
  it("runs every scenario and writes a result file with sane numbers", async () => {
    const outDir = await mkdtemp(join(tmpdir(), "flotilla-bench-test-"));
    try {
      const { code, stdout, stderr } = await runBench(outDir);
      assert.equal(code, 0, `bench exited ${code}:\n${stderr.slice(-3000)}`);
      assert.match(stdout, /\| scenario \| measure \| flotilla \| peer \|/);
      const files = (await readdir(outDir)).filter((f) => f.endsWith(".json"));
      assert.equal(files.length, 1);
      const run = JSON.parse(await readFile(join(outDir, files[0]!), "utf8")) as BenchRun;
      assert.equal(run.version, 1);
      assert.equal(run.profile, "smoke");
      assert.deepEqual(
        run.scenarios.map((s) => s.name),
        SCENARIOS,
      );
      for (const scenario of run.scenarios) {
        for (const row of scenario.rows) {
          assert.ok(row.value === null || Number.isFinite(row.value), `${row.measure} is finite`);
          // Only a ratio to a peer that was not measured (no Slurm here) may leave it open.
          if (row.target !== undefined && row.value !== null) {
            const says =
              typeof row.met === "boolean" || (row.met === null && row.peerValue === null);
            assert.ok(says, `${row.measure} says met or not`);
          }
        }
      }

      const throughput = rowsOf(run, "throughput");
      const tasksPerSecond = valueOf(throughput, /local group of 2 vs bare spawn/);
      const bare = throughput.find((r) => r.peer === "bare spawn of true")?.peerValue ?? 0;
      assert.ok(tasksPerSecond > 0 && tasksPerSecond < bare, "flotilla is under bare");
      const onSlurm = throughput.find((r) => r.measure.startsWith("flotilla on a Slurm group"));
      assert.ok(onSlurm, "the flotilla-on-slurm column is always there");
      assert.ok(onSlurm.value !== null || (onSlurm.note ?? "").length > 0, "or says why not");
      // .ci/run starts a Slurm cluster: there, both Slurm columns must hold numbers.
      if (process.env.CI === "true") {
        assert.equal(typeof onSlurm.value, "number", `flotilla on Slurm: ${onSlurm.note ?? ""}`);
        assert.deepEqual(
          run.scenarios.find((s) => s.name === "throughput")?.skipped ?? [],
          [],
          "CI=true needs Slurm",
        );
      }

      const dispatch = rowsOf(run, "dispatch");
      const started = valueOf(dispatch, /submit → command started p50/);
      const waited = valueOf(dispatch, /command exited → wait\(\) returned p50/);
      assert.ok(started > -1000 && started < 10_000, `dispatch p50 ${started} ms`);
      assert.ok(waited >= 0 && waited < 10_000, `wait p50 ${waited} ms`);

      const submit = rowsOf(run, "submit");
      assert.ok(valueOf(submit, /submissions/) > 0);
      assert.ok(valueOf(submit, /submissions into an elastic group/) > 0);
      const rss = valueOf(submit, /server RSS/);
      assert.ok(rss > 10 && rss < 4096, `server RSS ${rss} MB`);

      const outputs = rowsOf(run, "outputs");
      assert.ok(valueOf(outputs, /downloadOutputs, 4 files/) > 0);

      const listing = rowsOf(run, "listing");
      const sqlitePage = valueOf(listing, /SQLite: newest page/);
      assert.ok(sqlitePage > 0 && sqlitePage < 10_000, `SQLite page ${sqlitePage} ms`);
      const pgSkipped = run.scenarios
        .find((s) => s.name === "listing")
        ?.skipped.find((s) => s.column === "PostgreSQL");
      if (process.env.CI === "true") assert.equal(pgSkipped, undefined, "CI=true needs PostgreSQL");
      if (pgSkipped === undefined) assert.ok(valueOf(listing, /PostgreSQL: deep cursor/) > 0);

      const memory = rowsOf(run, "memory");
      assert.ok(valueOf(memory, /server RSS, 200 queued/) > 10);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
