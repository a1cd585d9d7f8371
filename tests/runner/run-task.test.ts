// One task through run-task.ts with real processes and real archives. The server side is a
// recording RunnerApi: an interface we own, so substituting it is allowed (STYLE.md, tests).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { FlotillaError, LeaseLostError } from "../../src/domain/errors.js";
import { packDirectory, unpackArchive, DEFAULT_ARCHIVE_LIMITS } from "../../src/lib/archive.js";
import type { FinishRequest, StartedRequest } from "../../src/protocol/runner.js";
import type { TaskView } from "../../src/protocol/tasks.js";
import { createProcessExecutor } from "../../src/runner/executor.js";
import { isProcessAlive } from "../../src/runner/process-table.js";
import type { LogStream, RunnerApi } from "../../src/runner/runner-api.js";
import { startTask, taskDirsFor } from "../../src/runner/run-task.js";
import { waitFor, withTempDir } from "./helpers.js";

interface Recorded {
  started?: StartedRequest;
  finish?: FinishRequest;
  /** Whether the started request had come when finish came. */
  startedBeforeFinish?: boolean;
  logs: Record<LogStream, string>;
  firstLogAt?: number;
  outputsDir: string;
  uploads: number;
  inputDownloads: number;
}

interface FakeOptions {
  input: () => Readable;
  onLog?: () => void;
  uploadFails?: boolean;
}

function createRecordingApi(
  dir: string,
  options: FakeOptions,
): { api: RunnerApi; recorded: Recorded } {
  const recorded: Recorded = {
    logs: { stdout: "", stderr: "" },
    outputsDir: join(dir, "received"),
    uploads: 0,
    inputDownloads: 0,
  };
  const refuse = (): Promise<never> => Promise.reject(new Error("not used by run-task"));
  const api: RunnerApi = {
    register: refuse,
    claim: refuse,
    heartbeat: refuse,
    pollControl: refuse,
    replyControl: refuse,
    openInput: () => {
      recorded.inputDownloads += 1;
      return Promise.resolve(options.input());
    },
    started(_taskId, request) {
      recorded.started = request;
      return Promise.resolve();
    },
    appendLog(_machineId, _taskId, stream, chunk) {
      options.onLog?.();
      recorded.firstLogAt ??= Date.now();
      recorded.logs[stream] += chunk.toString("utf8");
      return Promise.resolve();
    },
    async uploadOutputs(_machineId, _taskId, archive) {
      recorded.uploads += 1;
      if (options.uploadFails === true) {
        archive.destroy();
        throw new FlotillaError("UNAVAILABLE", "cannot reach the flotilla server (test)");
      }
      await mkdir(recorded.outputsDir, { recursive: true });
      await unpackArchive(archive, recorded.outputsDir, DEFAULT_ARCHIVE_LIMITS);
      return { files: [], totalBytes: 0 };
    },
    finish(_taskId, request) {
      recorded.finish = request;
      recorded.startedBeforeFinish = recorded.started !== undefined;
      return Promise.resolve(undefined);
    },
  };
  return { api, recorded };
}

function makeTask(commands: string[][], overrides: Partial<TaskView> = {}): TaskView {
  return {
    id: "t00000000000001",
    owner: "admin",
    project: "default",
    simulator: "custom",
    commands,
    machineGroup: "g1",
    status: "submitted",
    isTerminal: false,
    statusHistory: [],
    createdAt: new Date().toISOString(),
    attempt: 1,
    metrics: {},
    env: { GREETING: "hello" },
    killGraceMs: 2_000,
    ...overrides,
  };
}

async function inputArchive(dir: string): Promise<() => Readable> {
  const inputDir = join(dir, "input");
  await mkdir(inputDir, { recursive: true });
  await writeFile(join(inputDir, "in.txt"), "input data\n");
  await writeFile(join(inputDir, "keep.txt"), "unchanged\n");
  return () => packDirectory(inputDir, { gzip: true });
}

async function runOne(
  dir: string,
  commands: string[][],
  options: Partial<FakeOptions> & {
    task?: Partial<TaskView>;
    inlineInput?: Buffer;
    /** 0 (the default here): started is always sent on its own, before anything else. */
    startedReportDelayMs?: number;
  } = {},
) {
  const input = options.input ?? (await inputArchive(dir));
  const { api, recorded } = createRecordingApi(dir, { ...options, input });
  const task = makeTask(commands, options.task);
  const run = startTask(
    {
      api,
      machineId: "m1",
      workDir: join(dir, "runner"),
      executor: createProcessExecutor(),
      log: () => undefined,
      startedReportDelayMs: options.startedReportDelayMs ?? 0,
    },
    task,
    options.inlineInput,
  );
  return { run, recorded, task };
}

/** runOne with one `sh -c script` that prints "up" once it is underway; resolves after that line. */
async function runUntilUp(dir: string, script: string, options: Parameters<typeof runOne>[2] = {}) {
  const started = await runOne(dir, [["sh", "-c", script]], options);
  await waitFor("the command's first line", () => started.recorded.logs.stdout.includes("up"));
  return started;
}

describe("run-task: one task from input to finish", () => {
  it("a task that exits 0 reports started, ships its logs, uploads only new or changed files and finishes", async () => {
    await withTempDir(async (dir) => {
      const script = 'cat in.txt > out.txt; echo "$GREETING"; echo warn >&2; echo more >> in.txt';
      const { run, recorded, task } = await runOne(dir, [
        ["sh", "-c", script],
        ["sh", "-c", "echo second"],
      ]);
      await run.done;

      assert.ok(recorded.started !== undefined && recorded.started.inputDownloadMs >= 0);
      assert.equal(recorded.started.inputFiles, 2);
      assert.equal(recorded.logs.stdout, "hello\nsecond\n");
      assert.equal(recorded.logs.stderr, "warn\n");
      const finish = recorded.finish;
      assert.equal(finish?.outcome, "exited");
      assert.equal(finish.exitCode, 0);
      assert.equal(finish.reason, undefined);
      assert.ok((finish.computationMs ?? -1) >= 0 && (finish.outputUploadMs ?? -1) >= 0);
      assert.deepEqual(
        finish.manifest?.map((file) => file.path),
        ["in.txt", "out.txt"],
      );
      assert.equal(await readFile(join(recorded.outputsDir, "out.txt"), "utf8"), "input data\n");
      assert.equal(existsSync(join(recorded.outputsDir, "keep.txt")), false);
      assert.equal(
        existsSync(taskDirsFor(join(dir, "runner"), task).taskDir),
        false,
        "the working dir is removed",
      );
    });
  });

  it("uses the input that came with the claim instead of downloading it", async () => {
    await withTempDir(async (dir) => {
      const chunks: Buffer[] = [];
      for await (const chunk of (await inputArchive(dir))() as AsyncIterable<Buffer>)
        chunks.push(chunk);
      const { run, recorded } = await runOne(dir, [["sh", "-c", "cat in.txt"]], {
        inlineInput: Buffer.concat(chunks),
        input: () => Readable.from([Buffer.from("not used: the claim brought the input")]),
      });
      await run.done;
      assert.equal(recorded.inputDownloads, 0);
      assert.equal(recorded.started?.inputFiles, 2);
      assert.equal(recorded.logs.stdout, "input data\n");
      assert.equal(recorded.finish?.outcome, "exited");
      assert.equal(recorded.finish.exitCode, 0);
    });
  });

  it("a task without outputs uploads nothing and finishes with an empty manifest", async () => {
    await withTempDir(async (dir) => {
      const { run, recorded } = await runOne(dir, [["true"]]);
      await run.done;
      assert.equal(recorded.finish?.outcome, "exited");
      assert.equal(recorded.finish.exitCode, 0);
      assert.deepEqual(recorded.finish.manifest, []);
      assert.equal(recorded.uploads, 0);
    });
  });

  it("a task that ends before its started report is due sends the report inside finish: one request less", async () => {
    await withTempDir(async (dir) => {
      const before = performance.now();
      const { run, recorded } = await runOne(dir, [["true"]], { startedReportDelayMs: 60_000 });
      await run.done;
      assert.equal(recorded.started, undefined, "no started request of its own");
      assert.equal(recorded.finish?.outcome, "exited");
      const folded = recorded.finish.started;
      assert.ok(folded !== undefined, "finish carries the started report");
      assert.equal(folded.inputFiles, 2);
      assert.ok(folded.inputDownloadMs >= 0);
      assert.ok(folded.startedMsAgo >= 0 && folded.startedMsAgo <= performance.now() - before);
    });
  });

  it("a task still running when its report is due reports started on its own, before finish", async () => {
    await withTempDir(async (dir) => {
      const { run, recorded } = await runOne(dir, [["sleep", "0.4"]], {
        startedReportDelayMs: 20,
      });
      await run.done;
      assert.equal(recorded.started?.inputFiles, 2);
      assert.equal(recorded.startedBeforeFinish, true);
      assert.equal(recorded.finish?.outcome, "exited");
      assert.equal(recorded.finish.started, undefined, "not reported twice");
    });
  });

  it("a kill before the started report was sent reports killed with the report folded in", async () => {
    await withTempDir(async (dir) => {
      const { run, recorded } = await runUntilUp(dir, "echo up; sleep 60", {
        startedReportDelayMs: 60_000,
      });
      run.state.kill("killed by user");
      await run.done;
      assert.equal(recorded.started, undefined);
      assert.equal(recorded.finish?.outcome, "killed");
      assert.ok(recorded.finish.started !== undefined, "the commands had started: finish says so");
    });
  });

  it("a user's kill while the commands run uploads what they wrote, and finish lists it", async () => {
    await withTempDir(async (dir) => {
      const script = "echo step1 > partial.csv; echo up; sleep 60; echo never > late.txt";
      const { run, recorded } = await runUntilUp(dir, script);
      run.state.kill("killed by user");
      await run.done;
      assert.equal(recorded.finish?.outcome, "killed");
      assert.equal(recorded.uploads, 1);
      assert.deepEqual(
        recorded.finish.manifest?.map((file) => file.path),
        ["partial.csv"],
        "the unchanged inputs are not outputs",
      );
      assert.equal(await readFile(join(recorded.outputsDir, "partial.csv"), "utf8"), "step1\n");
      assert.ok((recorded.finish.outputUploadMs ?? -1) >= 0);
    });
  });

  it("the runner stopping hands the task back without uploading its outputs", async () => {
    await withTempDir(async (dir) => {
      const { run, recorded } = await runUntilUp(
        dir,
        "echo step1 > partial.csv; echo up; sleep 60",
      );
      run.state.stop("the runner was stopped");
      await run.done;
      assert.equal(recorded.finish?.outcome, "killed");
      assert.equal(recorded.uploads, 0);
      assert.equal(recorded.finish.manifest, undefined);
    });
  });

  it("a kill while the input is prepared reports killed without a started report", async () => {
    await withTempDir(async (dir) => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const archive = await inputArchive(dir);
      const { run, recorded } = await runOne(dir, [["sh", "-c", "echo ran"]], {
        startedReportDelayMs: 60_000,
        input: () =>
          Readable.from(
            (async function* () {
              await gate;
              yield* archive() as AsyncIterable<Buffer>;
            })(),
          ),
      });
      run.state.kill("killed by user");
      release();
      await run.done;
      assert.equal(recorded.finish?.outcome, "killed");
      assert.equal(recorded.finish.started, undefined);
      assert.equal(recorded.logs.stdout, "", "the commands never ran");
    });
  });

  it("stops at the first non-zero exit and reports the end of stderr as the reason", async () => {
    await withTempDir(async (dir) => {
      const failing = 'for i in $(seq 1 30); do echo "error line $i" >&2; done; exit 2';
      const { run, recorded } = await runOne(dir, [
        ["sh", "-c", failing],
        ["sh", "-c", "echo never"],
      ]);
      await run.done;
      assert.equal(recorded.finish?.outcome, "exited");
      assert.equal(recorded.finish.exitCode, 2);
      const reason = recorded.finish.reason?.split("\n") ?? [];
      assert.equal(reason.length, 20);
      assert.equal(reason[19], "error line 30");
      assert.equal(recorded.logs.stdout, "");
    });
  });

  it("a program that does not exist ends the task as an error with exit code 127", async () => {
    await withTempDir(async (dir) => {
      const { run, recorded } = await runOne(dir, [
        ["flotilla-no-such-simulator", "-i", "case.inp"],
      ]);
      await run.done;
      assert.equal(recorded.finish?.outcome, "error");
      assert.equal(recorded.finish.exitCode, 127);
      assert.equal(recorded.finish.reason, "command not found: flotilla-no-such-simulator");
    });
  });

  it("an input archive that is not a tar ends the task as an error before anything runs", async () => {
    await withTempDir(async (dir) => {
      const input = (): Readable => Readable.from([Buffer.from("this is not an archive at all")]);
      const { run, recorded } = await runOne(dir, [["sh", "-c", "echo ran"]], { input });
      await run.done;
      assert.equal(recorded.started, undefined);
      assert.equal(recorded.finish?.outcome, "error");
      assert.match(recorded.finish.reason ?? "", /input/);
    });
  });

  it("a kill stops the whole process group and is reported once the group is gone", async () => {
    await withTempDir(async (dir) => {
      const { run, recorded } = await runOne(dir, [["sh", "-c", "sleep 60 & echo $!; wait"]]);
      const sleeper = await waitFor(
        "the background pid",
        () => /^(\d+)\n/.exec(recorded.logs.stdout)?.[1],
      );
      const sentAt = Date.now();
      run.state.kill("killed by user");
      await run.done;
      assert.equal(recorded.finish?.outcome, "killed");
      assert.equal(isProcessAlive(Number(sleeper)), false);
      assert.ok(Date.now() - sentAt < 2_000, "SIGTERM was enough: no wait for the grace period");
    });
  });

  it("a lost lease kills the process group and drops the task without finishing it", async () => {
    await withTempDir(async (dir) => {
      let lost = false;
      const { run, recorded } = await runOne(dir, [["sh", "-c", "sleep 60 & echo $!; wait"]], {
        onLog: () => {
          if (lost) throw new LeaseLostError("t00000000000001", "m1");
        },
      });
      const sleeper = await waitFor(
        "the background pid",
        () => /^(\d+)\n/.exec(recorded.logs.stdout)?.[1],
      );
      lost = true;
      run.state.loseLease();
      await run.done;
      assert.equal(recorded.finish, undefined);
      assert.equal(isProcessAlive(Number(sleeper)), false);
    });
  });

  it("an output upload that keeps failing is retried, then the task ends as an error", async () => {
    await withTempDir(async (dir) => {
      const { run, recorded } = await runOne(dir, [["sh", "-c", "echo x > out.txt"]], {
        uploadFails: true,
      });
      await run.done;
      assert.equal(recorded.finish?.outcome, "error");
      assert.match(recorded.finish.reason ?? "", /could not upload the outputs: cannot reach/);
    });
  });

  it("a line written by the command reaches the server within ~200 ms", async () => {
    await withTempDir(async (dir) => {
      const marker = join(dir, "printed-at");
      // The command writes the time it printed, so the delay excludes process start-up.
      const script = `node -e 'process.stdout.write("tick\\n"); require("fs").writeFileSync("${marker}", String(Date.now()))'; sleep 60`;
      const { run, recorded } = await runOne(dir, [["sh", "-c", script]]);
      try {
        await waitFor("the line to arrive", () => recorded.logs.stdout.includes("tick"));
        const printedAt = Number(
          await waitFor("the marker", () => existsSync(marker) && readFile(marker, "utf8")),
        );
        assert.ok(
          (recorded.firstLogAt ?? Infinity) - printedAt < 250,
          `took ${(recorded.firstLogAt ?? 0) - printedAt} ms`,
        );
      } finally {
        run.state.kill("test over");
        await run.done;
      }
    });
  });
});
