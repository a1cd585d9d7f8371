import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { FlotillaError, InvalidInputError } from "../../src/domain/errors.js";
import { DEFAULT_ARCHIVE_LIMITS, unpackArchive } from "../../src/lib/archive.js";
import { INLINE_SUBMIT_INPUT_MAX_BYTES } from "../../src/protocol/tasks.js";
import { MachineGroup } from "../../src/sdk/machine-group.js";
import { Simulator, simulators, type RunOptions } from "../../src/sdk/simulators.js";
import { firstVersionNumber, type SimulatorRecipe } from "../../src/simulators/recipe.js";
import {
  closedPortClient,
  sendError,
  sendJson,
  startRecordingServer,
  taskView,
  withTempDir,
} from "./helpers.js";

// A recipe with a main input, as GROMACS or CalculiX will have.
const jobRecipe: SimulatorRecipe = {
  name: "job-runner",
  description: "runs a .job file",
  binaries: ["cat"],
  versionCommand: ["cat", "--version"],
  parseVersion: firstVersionNumber,
  mainInput: {
    option: "mainFile",
    description: "the job file (.job)",
    patterns: ["main.job", "*.job"],
  },
  defaultCommands: ({ mainFile, cpus }) => [
    ["cat", String(mainFile)],
    ["echo", `cpus=${String(cpus ?? "?")}`],
  ],
};

/** run() against a closed port: an InvalidInputError shows the check happened before any request. */
async function rejectsBeforeAnyRequest(
  simulator: Simulator,
  inputDir: string,
  options: RunOptions,
  message: RegExp,
): Promise<void> {
  const client = await closedPortClient();
  await assert.rejects(simulator.run(inputDir, { client, ...options }), (error: unknown) => {
    assert.ok(
      error instanceof InvalidInputError,
      `expected InvalidInputError, got ${String(error)}`,
    );
    assert.match(error.message, message);
    return true;
  });
}

describe("run() checks its input before creating anything", () => {
  it("rejects a missing input directory, saying what to pass", async () => {
    await withTempDir(async (dir) => {
      const missing = join(dir, "nope");
      await rejectsBeforeAnyRequest(
        simulators.custom(),
        missing,
        { commands: [["true"]] },
        new RegExp(
          `^input directory ${missing} does not exist; pass the directory that holds the simulation's files$`,
        ),
      );
    });
  });

  it("rejects an input path that is a file", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "file.txt"), "x");
      await rejectsBeforeAnyRequest(
        simulators.custom(),
        join(dir, "file.txt"),
        { commands: [["true"]] },
        /is a file, not a directory/,
      );
    });
  });

  it("asks for commands when custom gets none, or an empty list", async () => {
    await withTempDir(async (dir) => {
      const hint = /pass commands: \[\["prog", "arg"\]\]/;
      await rejectsBeforeAnyRequest(simulators.custom(), dir, {}, hint);
      await rejectsBeforeAnyRequest(simulators.custom(), dir, { commands: [] }, hint);
    });
  });

  it("names the main input file it looked for when the recipe's is missing", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "notes.txt"), "x");
      const simulator = new Simulator(jobRecipe);
      await rejectsBeforeAnyRequest(
        simulator,
        dir,
        {},
        /needs the job file \(\.job\): looked for main\.job or \*\.job in .* and found none/,
      );
      await rejectsBeforeAnyRequest(
        simulator,
        dir,
        { mainFile: "beam.job" },
        /main input file \(the job file \(\.job\)\) beam\.job was not found in input directory/,
      );
      await rejectsBeforeAnyRequest(
        simulator,
        dir,
        { mainFile: "../notes.txt" },
        /\.\.\/notes\.txt was not found/,
      );
    });
  });

  it("asks the user to pick when several files could be the main input", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "a.job"), "x");
      await writeFile(join(dir, "b.job"), "y");
      await rejectsBeforeAnyRequest(
        new Simulator(jobRecipe),
        dir,
        {},
        /has 2: a\.job, b\.job; pick one with mainFile/,
      );
    });
  });

  it("names the bad option: group name, environment, grace period, empty argument", async () => {
    await withTempDir(async (dir) => {
      const custom = simulators.custom();
      const commands = [["true"]];
      await rejectsBeforeAnyRequest(
        custom,
        dir,
        { commands, on: "not a name" },
        /^run option on: use 1 to 63 letters/,
      );
      await rejectsBeforeAnyRequest(
        custom,
        dir,
        { commands, env: { "1BAD": "x" } },
        /^run option env/,
      );
      await rejectsBeforeAnyRequest(
        custom,
        dir,
        { commands, killGraceMs: -1 },
        /^run option killGraceMs/,
      );
      await rejectsBeforeAnyRequest(
        custom,
        dir,
        { commands: [["echo", ""]] },
        /^run option commands\[0\]\[1\]: a command argument must not be empty/,
      );
      await rejectsBeforeAnyRequest(custom, dir, { commands, project: "" }, /^run option project/);
    });
  });

  it("explains argv arrays when a command is given as one shell line", async () => {
    await withTempDir(async (dir) => {
      await rejectsBeforeAnyRequest(
        simulators.custom(),
        dir,
        { commands: ["ls -la"] as unknown as string[][] },
        /^run option commands\[0\] is "ls -la", not an argv array; write it as \["prog", "arg", \.\.\.\]/,
      );
    });
  });

  it("does not start a machine group for a run that fails its checks", async () => {
    await withTempDir(async (dir) => {
      const group = new MachineGroup({ client: await closedPortClient() });
      await rejectsBeforeAnyRequest(simulators.custom(), dir, { on: group }, /pass commands/);
      assert.equal(group.isStarted, false);
    });
  });

  it("reaches the server once the checks pass", async () => {
    await withTempDir(async (dir) => {
      const client = await closedPortClient();
      await assert.rejects(
        simulators.custom().run(dir, { client, commands: [["true"]] }),
        (error: unknown) => error instanceof FlotillaError && error.code === "UNAVAILABLE",
      );
    });
  });
});

describe("run() submits", () => {
  it("creates the task with the recipe's commands and a small input in one request", async () => {
    await withTempDir(async (dir) => {
      const input = join(dir, "input");
      await mkdir(join(input, "sub"), { recursive: true });
      await writeFile(join(input, "beam.job"), "job");
      await writeFile(join(input, "sub", "data.csv"), "1,2,3\n");
      const server = await startRecordingServer((_request, response) =>
        sendJson(response, 201, taskView({ status: "in-queue" })),
      );
      try {
        const task = await new Simulator(jobRecipe).run(input, {
          client: server.client,
          project: "beams",
        });
        assert.equal(task.status, "in-queue");
        assert.equal(task.id, "0lx3k9v2a7b4c1d");
        assert.deepEqual(
          server.requests.map((request) => `${request.method} ${request.path}`),
          ["POST /api/v1/tasks"],
        );
        const { input: archive, ...create } = JSON.parse(server.requests[0]!.body.toString()) as {
          input: string;
        };
        assert.deepEqual(create, {
          simulator: "job-runner",
          commands: [
            ["cat", "beam.job"],
            ["echo", "cpus=?"],
          ],
          machineGroup: "default",
          project: "beams",
        });
        const unpacked = join(dir, "unpacked");
        const bytes = Buffer.from(archive, "base64");
        assert.equal(isGzip(bytes), false, "a small input travels as a plain tar");
        await unpackArchive(Readable.from([bytes]), unpacked, DEFAULT_ARCHIVE_LIMITS);
        assert.equal(await readFile(join(unpacked, "sub", "data.csv"), "utf8"), "1,2,3\n");
        assert.equal(await readFile(join(unpacked, "beam.job"), "utf8"), "job");
      } finally {
        await server.close();
      }
    });
  });

  it("sends an input whose tar is over the inline limit but whose tar.gz is not inline, compressed", async () => {
    await withTempDir(async (dir) => {
      const input = join(dir, "input");
      await mkdir(input, { recursive: true });
      const text = "0.000 1.000 2.000\n".repeat(
        Math.ceil((INLINE_SUBMIT_INPUT_MAX_BYTES * 2) / 18),
      );
      await writeFile(join(input, "table.dat"), text);
      await writeFile(join(input, "beam.job"), "job");
      const server = await startRecordingServer((_request, response) =>
        sendJson(response, 201, taskView({ status: "in-queue" })),
      );
      try {
        await new Simulator(jobRecipe).run(input, { client: server.client });
        assert.deepEqual(
          server.requests.map((request) => `${request.method} ${request.path}`),
          ["POST /api/v1/tasks"],
        );
        const { input: archive } = JSON.parse(server.requests[0]!.body.toString()) as {
          input: string;
        };
        const bytes = Buffer.from(archive, "base64");
        assert.equal(isGzip(bytes), true);
        assert.ok(bytes.length <= INLINE_SUBMIT_INPUT_MAX_BYTES);
        const unpacked = join(dir, "unpacked");
        await unpackArchive(Readable.from([bytes]), unpacked, DEFAULT_ARCHIVE_LIMITS);
        assert.equal(await readFile(join(unpacked, "table.dat"), "utf8"), text);
      } finally {
        await server.close();
      }
    });
  });

  it("creates the task, then streams an input larger than the inline limit", async () => {
    await withTempDir(async (dir) => {
      const input = join(dir, "input");
      await mkdir(join(input, "sub"), { recursive: true });
      await writeFile(join(input, "beam.job"), "job");
      await writeFile(join(input, "sub", "data.csv"), "1,2,3\n");
      // Random bytes do not compress: the archive is over INLINE_SUBMIT_INPUT_MAX_BYTES.
      await writeFile(join(input, "noise.bin"), randomBytes(INLINE_SUBMIT_INPUT_MAX_BYTES + 1));
      const server = await startRecordingServer((request, response) => {
        if (request.method === "POST")
          sendJson(response, 201, taskView({ status: "pending-input" }));
        else sendJson(response, 200, taskView({ status: "in-queue" }));
      });
      try {
        const task = await new Simulator(jobRecipe).run(input, {
          client: server.client,
          project: "beams",
        });
        assert.equal(task.status, "in-queue");
        assert.equal(task.id, "0lx3k9v2a7b4c1d");
        const [create, upload] = server.requests;
        assert.equal(`${create!.method} ${create!.path}`, "POST /api/v1/tasks");
        assert.deepEqual(JSON.parse(create!.body.toString()), {
          simulator: "job-runner",
          commands: [
            ["cat", "beam.job"],
            ["echo", "cpus=?"],
          ],
          machineGroup: "default",
          project: "beams",
        });
        assert.equal(
          `${upload!.method} ${upload!.path}`,
          "PUT /api/v1/tasks/0lx3k9v2a7b4c1d/input",
        );
        const unpacked = join(dir, "unpacked");
        await unpackArchive(Readable.from([upload!.body]), unpacked, DEFAULT_ARCHIVE_LIMITS);
        assert.equal(await readFile(join(unpacked, "sub", "data.csv"), "utf8"), "1,2,3\n");
        assert.equal(await readFile(join(unpacked, "beam.job"), "utf8"), "job");
      } finally {
        await server.close();
      }
    });
  });

  it("kills the just-created task when the upload fails, and rethrows the upload error", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "noise.bin"), randomBytes(INLINE_SUBMIT_INPUT_MAX_BYTES + 1));
      const server = await startRecordingServer((request, response) => {
        if (request.method === "PUT")
          sendError(response, 413, "PAYLOAD_TOO_LARGE", "input too large");
        else if (request.path.endsWith("/kill"))
          sendJson(response, 200, {
            result: "killed",
            task: taskView({ status: "killed", isTerminal: true }),
          });
        else sendJson(response, 201, taskView({ status: "pending-input" }));
      });
      try {
        await assert.rejects(
          simulators
            .custom()
            .run(dir, { client: server.client, commands: [["true"]], on: "gpu-box" }),
          (error: unknown) => error instanceof FlotillaError && error.code === "PAYLOAD_TOO_LARGE",
        );
        assert.deepEqual(
          server.requests.map((request) => `${request.method} ${request.path}`),
          [
            "POST /api/v1/tasks",
            "PUT /api/v1/tasks/0lx3k9v2a7b4c1d/input",
            "POST /api/v1/tasks/0lx3k9v2a7b4c1d/kill",
          ],
        );
        assert.equal(JSON.parse(server.requests[0]!.body.toString()).machineGroup, "gpu-box");
      } finally {
        await server.close();
      }
    });
  });
});

describe("simulators", () => {
  it("finds built-in simulators by name and names the known ones for an unknown name", () => {
    assert.equal(simulators.get("custom").name, "custom");
    assert.ok(simulators.list().some((simulator) => simulator.name === "custom"));
    assert.throws(
      () => simulators.get("gromacs-nope"),
      (error: unknown) =>
        error instanceof FlotillaError &&
        error.code === "SIMULATOR_NOT_FOUND" &&
        /use one of: .*\bcustom\b/.test(error.message),
    );
  });
});

function isGzip(bytes: Buffer): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}
