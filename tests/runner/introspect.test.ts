import assert from "node:assert/strict";
import { appendFile, mkdir, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FlotillaError } from "../../src/domain/errors.js";
import { createProcessExecutor, type RunningCommand } from "../../src/runner/executor.js";
import { introspectTask, type IntrospectTarget } from "../../src/runner/introspect.js";
import { killLeftovers, waitFor, withTempDir } from "./helpers.js";

async function makeTarget(
  root: string,
  pgid?: () => number | undefined,
): Promise<IntrospectTarget> {
  const workingDir = join(root, "work");
  await mkdir(workingDir, { recursive: true });
  return {
    taskId: "t0000000000000a",
    workingDir,
    stdoutLogPath: join(root, "stdout.log"),
    currentPgid: pgid ?? (() => undefined),
  };
}

function hasCode(code: string, text?: RegExp): (error: unknown) => boolean {
  return (error) =>
    error instanceof FlotillaError &&
    error.code === code &&
    (text === undefined || text.test(error.message));
}

describe("introspection of a running task", () => {
  it("list-files sees a file the task creates after it started, in subdirectories too", async () => {
    await withTempDir(async (root) => {
      const target = await makeTarget(root);
      await writeFile(join(target.workingDir, "input.txt"), "in");
      const before = (await introspectTask(target, "list-files", {})) as { path: string }[];
      assert.deepEqual(
        before.map((file) => file.path),
        ["input.txt"],
      );

      await mkdir(join(target.workingDir, "out"));
      await writeFile(join(target.workingDir, "out", "result.dat"), "12345");

      const after = await introspectTask(target, "list-files", {});
      assert.deepEqual(
        (after as { path: string; size: number; isDirectory: boolean; mtimeMs: number }[]).map(
          ({ path, size, isDirectory, mtimeMs }) => ({
            path,
            size,
            isDirectory,
            hasTime: mtimeMs > 0,
          }),
        ),
        [
          { path: "input.txt", size: 2, isDirectory: false, hasTime: true },
          {
            path: "out",
            size: (after as { size: number }[])[1]!.size,
            isDirectory: true,
            hasTime: true,
          },
          { path: "out/result.dat", size: 5, isDirectory: false, hasTime: true },
        ],
      );
    });
  });

  it("tail returns the last N lines of a file, and of the task's stdout by default", async () => {
    await withTempDir(async (root) => {
      const target = await makeTarget(root);
      const text = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
      await writeFile(join(target.workingDir, "solver.log"), text);
      await writeFile(target.stdoutLogPath, "step 1\nstep 2\nstep 3\n");

      assert.deepEqual(await introspectTask(target, "tail", { path: "solver.log", lines: 3 }), {
        path: "solver.log",
        lines: ["line 98", "line 99", "line 100"],
        size: Buffer.byteLength(text),
      });
      assert.deepEqual(await introspectTask(target, "tail", { lines: 2 }), {
        path: "stdout",
        lines: ["step 2", "step 3"],
        size: 21,
      });
    });
  });

  it("a tail follow step (offset, waitMs) answers what was appended past the offset", async () => {
    await withTempDir(async (root) => {
      const target = await makeTarget(root);
      await writeFile(join(target.workingDir, "solver.log"), "one\ntwo\n");
      const { size } = (await introspectTask(target, "tail", { path: "solver.log", lines: 1 })) as {
        size: number;
      };
      const step = introspectTask(target, "tail", {
        path: "solver.log",
        offset: size,
        waitMs: 10_000,
      });
      // Appended, as a solver writes its log (writeFile would truncate first: a follow step may
      // see the empty file and rightly report it truncated).
      await appendFile(join(target.workingDir, "solver.log"), "three\n");
      assert.deepEqual(await step, {
        path: "solver.log",
        offset: 8,
        nextOffset: 14,
        text: "three\n",
        truncated: false,
      });
      await assert.rejects(
        introspectTask(target, "tail", { path: "../escape", offset: 0, waitMs: 0 }),
        hasCode("INVALID_INPUT"),
      );
    });
  });

  it("tail refuses missing files, directories and binary files", async () => {
    await withTempDir(async (root) => {
      const target = await makeTarget(root);
      await writeFile(join(target.workingDir, "mesh.bin"), Buffer.from([1, 0, 2, 0, 10]));
      await mkdir(join(target.workingDir, "dir"));
      await assert.rejects(
        introspectTask(target, "tail", { path: "nope.txt", lines: 5 }),
        hasCode("FILE_NOT_FOUND"),
      );
      await assert.rejects(
        introspectTask(target, "tail", { path: "mesh.bin", lines: 5 }),
        hasCode("INVALID_INPUT", /not a text file/),
      );
      await assert.rejects(
        introspectTask(target, "tail", { path: "dir", lines: 5 }),
        hasCode("INVALID_INPUT", /not a text file/),
      );
    });
  });

  it("paths that leave the working directory are refused", async () => {
    await withTempDir(async (root) => {
      const target = await makeTarget(root);
      await writeFile(join(root, "secret.txt"), "runner host file\n");
      await symlink(join(root, "secret.txt"), join(target.workingDir, "link.txt"));
      for (const path of [
        "../secret.txt",
        "a/../../secret.txt",
        join(root, "secret.txt"),
        "link.txt",
      ]) {
        await assert.rejects(
          introspectTask(target, "tail", { path, lines: 1 }),
          hasCode("INVALID_INPUT"),
          path,
        );
      }
    });
  });

  it("top lists the running processes of the task's process group", async () => {
    await withTempDir(async (root) => {
      let command: RunningCommand | undefined;
      const target = await makeTarget(root, () => command?.pid);
      try {
        assert.deepEqual(await introspectTask(target, "top", {}), [], "nothing runs yet");
        command = await createProcessExecutor().start({
          argv: ["sh", "-c", "sleep 61 & wait"],
          cwd: target.workingDir,
          env: {},
        });
        type Row = {
          pid: number;
          ppid: number;
          command: string;
          state: string;
          cpuSeconds: number;
          rssBytes: number;
        };
        const rows = await waitFor("the sleep to show up", async () => {
          const found = (await introspectTask(target, "top", {})) as Row[];
          return found.some((row) => row.command === "sleep 61") ? found : undefined;
        });
        const leader = rows.find((row) => row.pid === command!.pid);
        const sleeper = rows.find((row) => row.command === "sleep 61");
        assert.equal(leader?.command, "sh -c sleep 61 & wait");
        assert.equal(sleeper?.ppid, command.pid);
        assert.ok(
          rows.every((row) => row.rssBytes > 0 && row.cpuSeconds >= 0 && /^[A-Z]$/.test(row.state)),
        );
      } finally {
        killLeftovers(command);
      }
    });
  });

  it("last-modified-file follows the newest file", async () => {
    await withTempDir(async (root) => {
      const target = await makeTarget(root);
      await assert.rejects(
        introspectTask(target, "last-modified-file", {}),
        hasCode("FILE_NOT_FOUND"),
      );
      const a = join(target.workingDir, "a.txt");
      const b = join(target.workingDir, "sub", "b.txt");
      await mkdir(join(target.workingDir, "sub"));
      await writeFile(a, "a");
      await writeFile(b, "b");
      // Explicit times: two writes in a row may share one mtime tick.
      await utimes(a, new Date(1_000_000), new Date(1_000_000));
      await utimes(b, new Date(2_000_000), new Date(2_000_000));
      const first = (await introspectTask(target, "last-modified-file", {})) as {
        path: string;
        mtimeMs: number;
        nowMs: number;
      };
      assert.equal(first.path, "sub/b.txt");
      assert.equal(first.mtimeMs, 2_000_000);
      assert.ok(first.nowMs >= Date.now() - 60_000);

      await writeFile(a, "a again");
      const second = (await introspectTask(target, "last-modified-file", {})) as { path: string };
      assert.equal(second.path, "a.txt");
    });
  });
});
