import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CommandNotFoundError,
  createProcessExecutor,
  killCommandGroup,
  type RunningCommand,
} from "../../src/runner/executor.js";
import { isProcessAlive } from "../../src/runner/process-table.js";
import { captureText, killLeftovers, waitFor, withTempDir } from "./helpers.js";

// isProcessAlive counts zombies as gone: in a container whose PID 1 does not reap orphans, a
// killed grandchild stays a zombie forever although it no longer runs.

const executor = createProcessExecutor();

describe("executor: process groups", () => {
  it("kill ends every process of the command's group, not only the leader", async () => {
    await withTempDir(async (cwd) => {
      let command: RunningCommand | undefined;
      try {
        command = await executor.start({
          argv: ["sh", "-c", "sleep 60 & echo $!; sleep 60 & echo $!; wait"],
          cwd,
          env: {},
        });
        const out = captureText(command.stdout);
        const pids = await waitFor("two background pids", () => {
          const found = out
            .text()
            .split("\n")
            .filter((line) => /^\d+$/.test(line));
          return found.length === 2 ? found.map(Number) : undefined;
        });
        const all = [command.pid, ...pids];
        for (const pid of all)
          assert.equal(isProcessAlive(pid), true, `pid ${pid} runs before the kill`);

        const gone = await killCommandGroup(command, { graceMs: 5_000 });

        assert.equal(gone, true);
        for (const pid of all)
          assert.equal(isProcessAlive(pid), false, `pid ${pid} is gone after the kill`);
        assert.equal(command.isGroupAlive(), false);
        assert.deepEqual(await command.exited, { exitCode: null, signal: "SIGTERM" });
      } finally {
        killLeftovers(command);
      }
    });
  });

  it("a process that ignores SIGTERM is SIGKILLed once the grace period is over", async () => {
    await withTempDir(async (cwd) => {
      let command: RunningCommand | undefined;
      try {
        command = await executor.start({
          argv: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
          cwd,
          env: {},
        });
        const out = captureText(command.stdout);
        await waitFor("the trap to be set", () => out.text().includes("ready"));
        const graceMs = 300;
        const startedAt = Date.now();

        const gone = await killCommandGroup(command, { graceMs });

        assert.equal(gone, true);
        assert.ok(
          Date.now() - startedAt >= graceMs - 5,
          "SIGKILL came only after the grace period",
        );
        assert.deepEqual(await command.exited, { exitCode: null, signal: "SIGKILL" });
        assert.equal(isProcessAlive(command.pid), false);
      } finally {
        killLeftovers(command);
      }
    });
  });

  it("the exit code and the ending signal are reported", async () => {
    await withTempDir(async (cwd) => {
      const exits = await executor.start({ argv: ["sh", "-c", "exit 3"], cwd, env: {} });
      assert.deepEqual(await exits.exited, { exitCode: 3, signal: null });

      const signalled = await executor.start({ argv: ["sh", "-c", "kill -USR1 $$"], cwd, env: {} });
      assert.deepEqual(await signalled.exited, { exitCode: null, signal: "SIGUSR1" });
    });
  });

  it("a command runs in its working dir with the task's environment, without a shell", async () => {
    await withTempDir(async (cwd) => {
      const command = await executor.start({
        argv: ["sh", "-c", 'pwd; echo "$FLOTILLA_TEST_VALUE"; echo "$PATH" | grep -c /', "ignored"],
        cwd,
        env: { FLOTILLA_TEST_VALUE: "a b;$c" },
      });
      const out = captureText(command.stdout);
      assert.deepEqual(await command.exited, { exitCode: 0, signal: null });
      await waitFor("stdout to end", () => command.stdout.readableEnded);
      const [dir, value, hasPath] = out.text().split("\n");
      assert.equal(dir, cwd);
      assert.equal(value, "a b;$c");
      assert.equal(hasPath, "1", "the runner's own environment is inherited");
    });
  });

  it("a program that does not exist is refused as command not found", async () => {
    await withTempDir(async (cwd) => {
      await assert.rejects(
        executor.start({ argv: ["flotilla-no-such-program", "--flag"], cwd, env: {} }),
        (error: unknown) =>
          error instanceof CommandNotFoundError &&
          error.program === "flotilla-no-such-program" &&
          error.message === "command not found: flotilla-no-such-program",
      );
    });
  });

  it("a group that already ended is reported gone at once", async () => {
    await withTempDir(async (cwd) => {
      const command = await executor.start({ argv: ["true"], cwd, env: {} });
      await command.exited;
      assert.equal(await killCommandGroup(command, { graceMs: 10_000 }), true);
      assert.equal(command.signalGroup("SIGTERM"), false);
    });
  });
});
