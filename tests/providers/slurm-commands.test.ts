// The Slurm command module against output captured from a real cluster (fixtures/slurm, made by
// capture.sh) and against what the live cluster prints now.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import {
  buildSacct,
  buildSbatch,
  buildScancel,
  buildSqueue,
  hasUsableNode,
  isAccountingDisabledError,
  isUnknownJobError,
  parseJobId,
  parseJobState,
  parseSacctOutput,
  parseSbatchOutput,
  parseSqueueOutput,
  phaseOf,
  runSlurmCommand,
  SACCT_FIELDS,
  SlurmCommandError,
  SQUEUE_FORMAT,
} from "../../src/providers/slurm-commands.js";
import { eventually } from "../helpers/real-server.js";
import { describeWithSlurm } from "../helpers/slurm-support.js";

// The fixtures live next to the sources, not in build/.
const FIXTURES = fileURLToPath(
  new URL("../../../tests/providers/fixtures/slurm/", import.meta.url),
);
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), "utf8");

describe("slurm commands: parsing captured output", () => {
  it("capture.sh uses the formats the module asks for", () => {
    const script = fixture("capture.sh");
    assert.ok(script.includes(`SQUEUE_FORMAT='${SQUEUE_FORMAT}'`));
    assert.ok(script.includes(`SACCT_FIELDS='${SACCT_FIELDS}'`));
  });

  it("parses sbatch --parsable ids, with or without a cluster name", () => {
    assert.deepEqual(
      fixture("sbatch-parsable.txt")
        .trim()
        .split("\n")
        .map((line) => parseSbatchOutput(line).jobId),
      ["15", "16", "17"],
    );
    assert.deepEqual(parseSbatchOutput("42;flotilla-dev\n"), {
      jobId: "42",
      cluster: "flotilla-dev",
    });
    assert.throws(
      () => parseSbatchOutput("sbatch: error: Batch job submission failed"),
      /no job id/,
    );
  });

  it("parses plain, array and heterogeneous job ids", () => {
    assert.deepEqual(parseJobId("15"), {
      text: "15",
      baseId: "15",
      arrayTask: undefined,
      hetOffset: undefined,
    });
    assert.equal(parseJobId("16_[1-2]")?.arrayTask, "[1-2]");
    assert.equal(parseJobId("16_0")?.baseId, "16");
    assert.equal(parseJobId("17+1")?.hetOffset, 1);
    assert.equal(parseJobId("n/a"), undefined);
  });

  it("parses squeue rows of running and pending jobs", () => {
    const rows = parseSqueueOutput(fixture("squeue-mixed.txt"));
    assert.equal(rows.length, 5);
    const plain = rows.find((row) => row.name === "plain");
    assert.deepEqual(
      plain && {
        id: plain.jobId.baseId,
        state: plain.state,
        nodes: plain.nodes,
        phase: phaseOf(plain.state),
      },
      { id: "15", state: "RUNNING", nodes: "localhost", phase: "active" },
    );
    const pending = rows.filter((row) => row.state === "PENDING");
    assert.equal(pending.length, 3);
    assert.ok(
      pending.every((row) => row.reason === "Resources" && phaseOf(row.state) === "waiting"),
    );
    assert.deepEqual(
      rows.filter((row) => row.jobId.baseId === "17").map((row) => row.rawId),
      ["17", "18"],
    );
  });

  it("gives every way a job ends the phase `ended`, with Slurm's reason", () => {
    const rows = parseSqueueOutput(fixture("squeue-ended.txt"));
    assert.equal(rows.length, 10);
    assert.ok(
      rows.every((row) => phaseOf(row.state) === "ended"),
      "all ended",
    );
    const byName = new Map(rows.map((row) => [row.name, row]));
    assert.equal(byName.get("timeout")?.state, "TIMEOUT");
    assert.equal(byName.get("timeout")?.reason, "TimeLimit");
    assert.equal(byName.get("node-fail")?.state, "NODE_FAIL");
    assert.equal(byName.get("node-fail")?.reason, "NodeDown");
    assert.equal(byName.get("failed")?.reason, "NonZeroExitCode");
    assert.equal(byName.get("completed")?.state, "COMPLETED");
  });

  it("counts a job still COMPLETING after scancel as ending, not ended", () => {
    const [row] = parseSqueueOutput(fixture("squeue-completing.txt"));
    assert.equal(row?.state, "COMPLETING");
    assert.equal(phaseOf(row.state), "ending");
  });

  it("recognises squeue's answer for ids it does not know", () => {
    assert.ok(isUnknownJobError(fixture("squeue-unknown-job.txt")));
    assert.ok(!isUnknownJobError("slurm_load_jobs error: Unable to contact slurm controller"));
  });

  it("parses the job completion log (sacct -c) with exit codes and states", () => {
    const rows = parseSacctOutput(fixture("sacct-completion.txt"));
    assert.equal(rows.length, 8);
    const failed = rows.find((row) => row.name === "failed");
    assert.deepEqual(failed && [failed.state, failed.exitCode, failed.signal], ["FAILED", 1, 0]);
    assert.deepEqual(
      rows.map((row) => phaseOf(row.state)),
      Array<string>(8).fill("ended"),
    );
    assert.ok(isAccountingDisabledError(fixture("sacct-no-accounting.txt")));
  });

  it("reads who cancelled a job from sacct's state, and treats unknown states as active", () => {
    assert.deepEqual(parseJobState("CANCELLED by 0"), { state: "CANCELLED", by: "0" });
    assert.equal(phaseOf("CANCELLED by 1000"), "ended");
    assert.equal(phaseOf("SOME_FUTURE_STATE"), "active");
  });

  it("keeps a job name that contains the separator whole", () => {
    const [row] = parseSqueueOutput("7|7|RUNNING|None|n1|odd|name\n");
    assert.equal(row?.name, "odd|name");
  });

  it("builds sbatch argv with the token's name only, never its value", () => {
    const command = buildSbatch({
      jobName: "flotilla-g",
      script: "/data/slurm/pilot.sh",
      args: ["/usr/bin/node", "cli.js", "runner", "start"],
      output: "/data/m/pilot-%j.log",
      workDir: "/data/m",
      exportNames: ["FLOTILLA_TOKEN"],
      partition: "short",
      cpusPerTask: 4,
      memoryMb: 2048,
      timeLimit: "01:00:00",
    });
    assert.equal(command.file, "sbatch");
    assert.ok(command.args.includes("--export=FLOTILLA_TOKEN"));
    assert.ok(command.args.includes("--partition=short"));
    assert.ok(command.args.includes("--cpus-per-task=4"));
    assert.ok(command.args.includes("--mem=2048M"));
    assert.ok(command.args.includes("--time=01:00:00"));
    assert.ok(command.args.includes("--no-requeue"));
    assert.ok(
      !command.args.some((arg) => arg.startsWith("--account")),
      "no account when none given",
    );
    assert.deepEqual(command.args.slice(-5), [
      "/data/slurm/pilot.sh",
      "/usr/bin/node",
      "cli.js",
      "runner",
      "start",
    ]);
    assert.deepEqual(buildScancel(["1", "2"]).args, ["1", "2"]);
    assert.deepEqual(buildSqueue(["3", "4"]).args.slice(-2), ["-j", "3,4"]);
    assert.equal(buildSacct(["5"], { completion: true }).args[0], "-c");
  });

  it("says what to install when a command is missing", async () => {
    const error = await runSlurmCommand({ file: "flotilla-no-such-sbatch", args: [] }).catch(
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof SlurmCommandError);
    assert.match(error.message, /not found on PATH; install the Slurm client commands/);
  });

  it("knows which sinfo node states take jobs", () => {
    assert.ok(hasUsableNode("idle\n"));
    assert.ok(hasUsableNode("down*\nmixed\n"));
    assert.ok(!hasUsableNode("down*\ndrained\n"));
  });
});

describeWithSlurm("slurm commands: the live cluster", () => {
  it("submits, lists, cancels and reads the end of a real job", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flotilla-slurm-cmd-"));
    const script = join(dir, "job.sh");
    await writeFile(script, '#!/bin/sh\necho "token=$FLOTILLA_TOKEN"\nexec "$@"\n', {
      mode: 0o755,
    });
    let jobId: string | undefined;
    try {
      const sbatch = buildSbatch({
        jobName: "flotilla-parse-test",
        script,
        args: ["sleep", "300"],
        output: join(dir, "out-%j.log"),
        workDir: dir,
        exportNames: ["FLOTILLA_TOKEN"],
        timeLimit: "5",
      });
      jobId = parseSbatchOutput(
        await runSlurmCommand(sbatch, { env: { ...process.env, FLOTILLA_TOKEN: "sekrit" } }),
      ).jobId;
      const id = jobId;
      const running = await eventually(
        async () => {
          const [row] = parseSqueueOutput(await runSlurmCommand(buildSqueue([id])));
          return row?.state === "RUNNING" ? row : undefined;
        },
        30_000,
        "the job to run",
      );
      assert.equal(running.jobId.baseId, id);
      assert.equal(running.name, "flotilla-parse-test");
      assert.notEqual(running.nodes, "");
      await eventually(
        () => {
          try {
            return readFileSync(join(dir, `out-${id}.log`), "utf8").includes("token=sekrit")
              ? true
              : undefined;
          } catch {
            return undefined;
          }
        },
        10_000,
        "the job to see the exported token",
      );

      await runSlurmCommand(buildScancel([id]));
      const ended = await eventually(
        async () => {
          const [row] = parseSqueueOutput(await runSlurmCommand(buildSqueue([id])));
          return row !== undefined && phaseOf(row.state) === "ended" ? row : undefined;
        },
        30_000,
        "the job to end",
      );
      assert.equal(ended.state, "CANCELLED");
      // The dev cluster keeps no accounting database: sacct says so, sacct -c reads the log.
      const accounting = await runSlurmCommand(buildSacct([id])).then(
        (stdout) => ({ stdout, stderr: "" }),
        (error: unknown) => ({
          stdout: "",
          stderr: error instanceof SlurmCommandError ? error.stderr : "",
        }),
      );
      if (accounting.stdout === "")
        assert.ok(isAccountingDisabledError(accounting.stderr), accounting.stderr);
      const completion = await eventually(
        async () => {
          const rows = parseSacctOutput(
            await runSlurmCommand(buildSacct([id], { completion: true })),
          );
          return rows.find((row) => row.rawId === id);
        },
        15_000,
        "the job completion record",
      );
      assert.equal(completion.state, "CANCELLED");
      jobId = undefined;
    } finally {
      if (jobId !== undefined) await runSlurmCommand(buildScancel([jobId])).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("answers squeue for an id it never knew with the error the module recognises", async () => {
    const error = await runSlurmCommand(buildSqueue(["999999999"])).catch(
      (caught: unknown) => caught,
    );
    // Slurm 22.05 prints nothing for unknown ids when others are known, and this error when none is.
    if (error instanceof SlurmCommandError)
      assert.ok(isUnknownJobError(error.stderr), error.stderr);
    else assert.equal(parseSqueueOutput(String(error)).length, 0);
  });
});
