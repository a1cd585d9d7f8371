import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { FlotillaError } from "../../src/domain/errors.js";
import { packDirectory } from "../../src/lib/archive.js";
import { sha256File } from "../../src/lib/hash.js";
import { Task } from "../../src/sdk/task.js";
import {
  closedPortClient,
  closedPortUrl,
  sendError,
  sendJson,
  startRecordingServer,
  taskView,
  withTempDir,
  type Answer,
  type RecordingServer,
} from "./helpers.js";

async function withServer<T>(
  answer: Answer,
  body: (server: RecordingServer) => Promise<T>,
): Promise<T> {
  const server = await startRecordingServer(answer);
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}

describe("Task.status", () => {
  it("is the status of the last fetched record", async () => {
    const task = new Task(taskView({ status: "submitted" }), await closedPortClient());
    assert.equal(task.status, "submitted");
    assert.equal(task.info.status, "submitted");
    assert.equal(task.machineGroup, "default");
  });
});

describe("Task.wait", () => {
  it("long-polls until the task is terminal and resolves (does not throw) for a failed task", async () => {
    const answers = [
      taskView({ status: "started" }),
      taskView({ status: "failed", isTerminal: true, exitCode: 2 }),
    ];
    await withServer(
      (request, response) =>
        sendJson(
          response,
          200,
          request.path.endsWith("/wait") ? answers.shift() : taskView({ status: "submitted" }),
        ),
      async (server) => {
        const task = new Task(taskView({ status: "in-queue" }), server.client);
        const seen: string[] = [];
        const listeners = process.listenerCount("SIGINT");
        const final = await task.wait({ onStatus: (view) => seen.push(view.status) });
        assert.equal(final.status, "failed");
        assert.equal(final.exitCode, 2);
        assert.equal(task.status, "failed");
        assert.deepEqual(seen, ["submitted", "started", "failed"]);
        const polls = server.requests.filter((request) => request.path.endsWith("/wait"));
        assert.equal(polls.length, 2);
        assert.equal(polls[0]!.query.get("timeoutMs"), "60000");
        assert.equal(
          process.listenerCount("SIGINT"),
          listeners,
          "the SIGINT listener is removed when wait ends",
        );
      },
    );
  });

  it("answers at once, without a request, for a task already known to be terminal", async () => {
    const task = new Task(
      taskView({ status: "success", isTerminal: true }),
      await closedPortClient(),
    );
    assert.equal((await task.wait()).status, "success");
  });

  it("keeps retrying while the server is unreachable and resolves with the last record at its timeout", async () => {
    const task = new Task(taskView({ status: "started" }), await closedPortClient());
    const started = Date.now();
    const view = await task.wait({ timeoutMs: 600 });
    assert.equal(view.status, "started");
    assert.ok(Date.now() - started >= 550, "waited until the timeout");
  });

  it("rejects with the signal's reason when aborted, leaving no SIGINT listener", async () => {
    const task = new Task(taskView({ status: "started" }), await closedPortClient());
    const listeners = process.listenerCount("SIGINT");
    const controller = new AbortController();
    const waiting = task.wait({ signal: controller.signal });
    assert.equal(process.listenerCount("SIGINT"), listeners + 1);
    controller.abort(new Error("stop waiting"));
    await assert.rejects(waiting, /stop waiting/);
    assert.equal(process.listenerCount("SIGINT"), listeners);
  });

  it("on Ctrl-C says the task keeps running and how to reach it, and exits with 130", async () => {
    const script = fileURLToPath(new URL("./fixtures/interrupt-wait.js", import.meta.url));
    const child = spawn(process.execPath, [script, await closedPortUrl()], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes("waiting\n")) resolve();
        });
        child.once("exit", () => reject(new Error(`child exited early: ${stderr}`)));
      });
      child.kill("SIGINT");
      assert.equal(await exited, 130);
      assert.ok(!stdout.includes("wait returned"));
      assert.match(
        stderr,
        /task 0lx3k9v2a7b4c1d keeps running on sweep; follow it with `flotilla logs 0lx3k9v2a7b4c1d`, wait again with `flotilla tasks wait 0lx3k9v2a7b4c1d`, kill it with `flotilla tasks kill 0lx3k9v2a7b4c1d`/,
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  });
});

describe("Task.getPositionInQueue", () => {
  it("is the number of tasks ahead while queued and undefined once the task left the queue", async () => {
    const positions = [3, null];
    await withServer(
      (_request, response) =>
        sendJson(response, 200, {
          taskId: "0lx3k9v2a7b4c1d",
          status: "in-queue",
          queuePosition: positions.shift(),
        }),
      async (server) => {
        const task = new Task(taskView(), server.client);
        assert.equal(await task.getPositionInQueue(), 3);
        assert.equal(await task.getPositionInQueue(), undefined);
      },
    );
  });
});

describe("Task.downloadOutputs", () => {
  /** A server with the outputs in `outputsDir`; `tamper` changes a manifest entry. */
  async function withOutputs<T>(
    outputsDir: string,
    tamper: (files: { path: string; size: number; sha256: string }[]) => void,
    body: (server: RecordingServer) => Promise<T>,
  ): Promise<T> {
    const paths = ["result.csv", "fields/T_1.csv"];
    const files = await Promise.all(
      paths.map(async (path) => ({
        path,
        size: (await readFile(join(outputsDir, path))).length,
        sha256: await sha256File(join(outputsDir, path)),
      })),
    );
    tamper(files);
    const manifest = {
      taskId: "0lx3k9v2a7b4c1d",
      files,
      totalBytes: files.reduce((sum, file) => sum + file.size, 0),
    };
    return withServer((request, response) => {
      if (request.path.endsWith("/outputs")) return sendJson(response, 200, manifest);
      const wanted = request.query.getAll("files");
      response.writeHead(200, { "content-type": "application/x-tar" });
      packDirectory(outputsDir, { files: wanted.length > 0 ? wanted : paths }).pipe(response);
    }, body);
  }

  async function makeOutputs(dir: string): Promise<string> {
    const outputs = join(dir, "server-outputs");
    await mkdir(join(outputs, "fields"), { recursive: true });
    await writeFile(join(outputs, "result.csv"), "t,T\n0,100\n");
    await writeFile(join(outputs, "fields", "T_1.csv"), "1,2\n3,4\n");
    return outputs;
  }

  it("unpacks the outputs into the directory and checks them against the manifest", async () => {
    await withTempDir(async (dir) => {
      await withOutputs(
        await makeOutputs(dir),
        () => undefined,
        async (server) => {
          const task = new Task(taskView({ status: "success", isTerminal: true }), server.client);
          const target = await task.downloadOutputs(join(dir, "results"));
          assert.equal(target, join(dir, "results"));
          assert.equal(await readFile(join(target, "fields", "T_1.csv"), "utf8"), "1,2\n3,4\n");
          assert.equal(await readFile(join(target, "result.csv"), "utf8"), "t,T\n0,100\n");
        },
      );
    });
  });

  it("downloads only the files asked for", async () => {
    await withTempDir(async (dir) => {
      await withOutputs(
        await makeOutputs(dir),
        () => undefined,
        async (server) => {
          const task = new Task(taskView({ status: "success", isTerminal: true }), server.client);
          const target = await task.downloadOutputs(join(dir, "partial"), {
            files: ["result.csv"],
          });
          assert.equal(await readFile(join(target, "result.csv"), "utf8"), "t,T\n0,100\n");
          await assert.rejects(readFile(join(target, "fields", "T_1.csv")), { code: "ENOENT" });
          const archive = server.requests.find((request) => request.path.endsWith("/archive"));
          assert.deepEqual(archive?.query.getAll("files"), ["result.csv"]);
        },
      );
    });
  });

  it("refuses an unknown file before downloading anything", async () => {
    await withTempDir(async (dir) => {
      await withOutputs(
        await makeOutputs(dir),
        () => undefined,
        async (server) => {
          const task = new Task(taskView({ status: "success", isTerminal: true }), server.client);
          await assert.rejects(
            task.downloadOutputs(join(dir, "x"), { files: ["nope.txt"] }),
            (error: unknown) =>
              error instanceof FlotillaError &&
              error.code === "FILE_NOT_FOUND" &&
              /nope\.txt/.test(error.message),
          );
          assert.ok(!server.requests.some((request) => request.path.endsWith("/archive")));
        },
      );
    });
  });

  it("fails naming the file when a download does not match its sha256, and says to download again", async () => {
    await withTempDir(async (dir) => {
      const tamper = (files: { sha256: string }[]) => (files[0]!.sha256 = "0".repeat(64));
      await withOutputs(await makeOutputs(dir), tamper, async (server) => {
        const task = new Task(taskView({ status: "success", isTerminal: true }), server.client);
        await assert.rejects(
          task.downloadOutputs(join(dir, "results")),
          (error: unknown) =>
            error instanceof FlotillaError &&
            error.code === "INTERNAL" &&
            /output file result\.csv of task 0lx3k9v2a7b4c1d does not match its sha256/.test(
              error.message,
            ) &&
            /download again/.test(error.message),
        );
      });
    });
  });

  it("surfaces OUTPUTS_NOT_AVAILABLE for a task that has not ended", async () => {
    await withServer(
      (_request, response) =>
        sendError(
          response,
          409,
          "OUTPUTS_NOT_AVAILABLE",
          "task 0lx3k9v2a7b4c1d is started; outputs are stored when it ends",
        ),
      async (server) => {
        const task = new Task(taskView({ status: "started" }), server.client);
        await assert.rejects(
          task.downloadOutputs("/nonexistent/never-created"),
          (error: unknown) =>
            error instanceof FlotillaError && error.code === "OUTPUTS_NOT_AVAILABLE",
        );
      },
    );
  });

  it("downloads to <FLOTILLA_OUTPUT_DIR>/<task id>/outputs by default", async () => {
    await withTempDir(async (dir) => {
      const previous = process.env.FLOTILLA_OUTPUT_DIR;
      process.env.FLOTILLA_OUTPUT_DIR = join(dir, "out");
      try {
        await withOutputs(
          await makeOutputs(dir),
          () => undefined,
          async (server) => {
            const task = new Task(taskView({ status: "success", isTerminal: true }), server.client);
            assert.equal(
              await task.downloadOutputs(),
              join(dir, "out", "0lx3k9v2a7b4c1d", "outputs"),
            );
          },
        );
      } finally {
        if (previous === undefined) delete process.env.FLOTILLA_OUTPUT_DIR;
        else process.env.FLOTILLA_OUTPUT_DIR = previous;
      }
    });
  });
});
