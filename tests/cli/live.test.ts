import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Flotilla, simulators, type Task } from "../../src/sdk/index.js";
import { eventually, startRealServer, type RealServer } from "../helpers/real-server.js";
import { cliEnv, runCli, runCliTty, spawnCli, summarize, type CliStream } from "./cli-harness.js";

// A task that really runs for ~20 s and every 100 ms appends a line to progress.log, prints a line
// and creates a new file. Every line carries the time it was written (ms since the epoch), so the
// test can measure how long it takes to reach the terminal.
const SCRIPT =
  'i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "step $i $(date +%s%3N)" >> progress.log; echo "out $i $(date +%s%3N)"; : > "file-$i.txt"; sleep 0.1; done';

const numberIn = (path: string): number => Number(/^file-(\d+)\.txt$/.exec(path)?.[1] ?? -1);

describe("live introspection of a running task through the CLI", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let task: Task;

  before(async () => {
    server = await startRealServer();
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-cli-live-"));
    env = cliEnv(server, work);
    const input = join(work, "case");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "in.txt"), "input\n");
    task = await simulators.custom().run(input, { client, commands: [["sh", "-c", SCRIPT]] });
    let view = await client.getTask(task.id);
    while (view.status !== "started" && !view.isTerminal) {
      view = await client.waitTask(task.id, 15_000, undefined, view.status);
    }
    assert.equal(view.status, "started");
  });
  after(async () => {
    await client.killTask(task.id).catch(() => undefined);
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("list-files sees a file the task created after it started, and answers fast", async (t) => {
    const first = await runCli(["tasks", "list-files", task.id], env);
    assert.equal(first.code, 0, first.stderr);
    const paths = first.stdout.split("\n").map((line) => line.split("\t")[0] ?? "");
    assert.ok(paths.includes("in.txt") && paths.includes("progress.log"), first.stdout);
    const newestBefore = Math.max(...paths.map(numberIn));
    const seen = await eventually(
      async () => {
        const again = await runCli(["tasks", "list-files", "--id", task.id], env);
        const later = again.stdout.split("\n").map((line) => line.split("\t")[0] ?? "");
        return later.some((path) => numberIn(path) > newestBefore + 2) ? later : undefined;
      },
      10_000,
      "a file created after the first listing",
    );
    assert.ok(seen.length > paths.length);

    const apiMs: number[] = [];
    let entries = 0;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      entries = (await client.listTaskFiles(task.id)).files.length;
      apiMs.push(Math.round(performance.now() - started));
    }
    const cliMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await runCli(["tasks", "list-files", task.id], env);
      cliMs.push(Math.round(performance.now() - started));
    }
    const api = summarize(apiMs);
    const cli = summarize(cliMs);
    t.diagnostic(
      `list-files response (HTTP, relayed to the runner): median ${api.median} ms, max ${api.max} ms over ${api.count} calls, ${entries} entries`,
    );
    t.diagnostic(
      `list-files whole command (node start + request): median ${cli.median} ms, max ${cli.max} ms`,
    );

    const tty = await runCliTty(["tasks", "list-files", task.id], env);
    assert.match(tty.stdout, /\u001b\[1m +SIZE +MODIFIED +PATH\u001b\[22m/);
    assert.match(tty.stdout, /(B|KiB) {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}progress\.log/);
  });

  it("tail -f shows lines of a file as they are written", async (t) => {
    const watchers = (): number => server.server.deps.events.tasks.listenerCount(task.id);
    const watchersBefore = watchers();
    const tail = spawnCli(
      ["tasks", "tail", task.id, "-f", "--file", "progress.log", "-L", "3"],
      env,
    );
    try {
      await tail.waitForLine((line) => line.startsWith("step "));
      const startedAt = Date.now();
      const firstStep = Number(tail.lines[0]?.text.split(" ")[1]);
      await tail.waitForLine((line) => Number(line.split(" ")[1]) >= firstStep + 25, 10_000);
      const steps = tail.lines.map((line) => Number(line.text.split(" ")[1]));
      assert.deepEqual(
        steps,
        steps.map((_, index) => firstStep + index),
        "every line once, in order, no gap between the last lines and what follows",
      );
      const fresh = tail.lines.filter((line) => Number(line.text.split(" ")[2]) >= startedAt);
      const latency = summarize(fresh.map((line) => line.atMs - Number(line.text.split(" ")[2])));
      t.diagnostic(
        `tail -f latency (line appended → printed): median ${latency.median} ms, max ${latency.max} ms over ${latency.count} lines`,
      );
      assert.ok(latency.max < 1_000, `a line took ${latency.max} ms`);
    } finally {
      await tail.stop();
    }
    // The server stops following once the client is gone.
    await eventually(
      () => (watchers() === watchersBefore ? true : undefined),
      10_000,
      "no follower",
    );
  });

  it("logs shows the output from the start and then each line as it is printed", async (t) => {
    const logs = spawnCli(["logs", task.id], env);
    try {
      await logs.waitForLine((line) => line.startsWith("out 1 "));
      const startedAt = Date.now();
      await logs.waitForLine((line) => Number(line.split(" ")[2]) > startedAt + 2_000, 10_000);
      const numbers = logs.lines.map((line) => Number(line.text.split(" ")[1]));
      assert.deepEqual(
        numbers,
        numbers.map((_, index) => index + 1),
        "the whole output, in order",
      );
      const fresh = logs.lines.filter((line) => Number(line.text.split(" ")[2]) >= startedAt);
      const latency = summarize(fresh.map((line) => line.atMs - Number(line.text.split(" ")[2])));
      t.diagnostic(
        `logs latency on a running task: median ${latency.median} ms, max ${latency.max} ms over ${latency.count} lines`,
      );
      assert.ok(latency.max < 1_000, `a line took ${latency.max} ms`);
    } finally {
      await logs.stop();
    }
  });

  it("top shows the task's own processes, in a pipe and on a terminal", async () => {
    const top = await runCli(["tasks", "top", task.id], env);
    assert.equal(top.code, 0, top.stderr);
    const rows = top.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    const shell = rows.find((row) => row[5]?.startsWith("sh -c i=0; while"));
    assert.ok(shell !== undefined, top.stdout);
    assert.match(shell[0]!, /^\d+$/);
    const json = await runCli(["tasks", "top", task.id, "--json"], env);
    const processes = JSON.parse(json.stdout) as { pid: number; command: string }[];
    assert.ok(processes.some((p) => p.pid === Number(shell[0])));
    const tty = await runCliTty(["tasks", "top", task.id], env);
    assert.match(tty.stdout, /\u001b\[1m +PID +PPID {2}S +CPU TIME +RSS +COMMAND\u001b\[22m/);
    assert.match(tty.stdout, /sh -c i=0; while/);
  });

  it("last-modified-file follows the newest file", async () => {
    const newest = async (): Promise<{ path: string; mtimeMs: number; nowMs: number }> => {
      const result = await runCli(["tasks", "last-modified-file", task.id, "--json"], env);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as { path: string; mtimeMs: number; nowMs: number };
    };
    const first = await eventually(
      async () => {
        const answer = await newest();
        return numberIn(answer.path) > 0 ? answer : undefined;
      },
      10_000,
      "a file-N.txt as the newest file",
    );
    assert.ok(first.nowMs - first.mtimeMs < 5_000);
    const later = await eventually(
      async () => {
        const answer = await newest();
        return numberIn(answer.path) > numberIn(first.path) ? answer : undefined;
      },
      10_000,
      "a newer file-N.txt",
    );
    assert.ok(later.mtimeMs > first.mtimeMs);
    const text = await runCli(["tasks", "last-modified-file", task.id], env);
    assert.match(text.stdout, /^most recent file +(file-\d+\.txt|progress\.log)\nmodified +\d{4}-/);
  });

  it("tail -f and logs end by themselves when the task is killed", async () => {
    const streams: CliStream[] = [
      spawnCli(["tasks", "tail", task.id, "-f", "--file", "progress.log"], env),
      spawnCli(["logs", task.id], env),
    ];
    try {
      for (const stream of streams) await stream.waitForLine(() => true);
      const killed = await runCli(["tasks", "kill", "-y", "--wait", task.id], env);
      assert.equal(killed.stdout, `task ${task.id} killed (it was started)\n`);
      for (const stream of streams) assert.equal(await stream.exited, 0, stream.stderr());
    } finally {
      for (const stream of streams) await stream.stop();
    }
  });
});
