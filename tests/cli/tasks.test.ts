import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Flotilla, MachineGroup, simulators, type Task } from "../../src/sdk/index.js";
import { eventually, startRealServer, type RealServer } from "../helpers/real-server.js";
import { cliEnv, runCli, runCliTty, spawnCli, summarize } from "./cli-harness.js";

// Every `tasks ...` command and `run`/`logs`, as a real child process against a real server with
// real runners; output checked in a pipe and on a terminal.
describe("flotilla tasks, run and logs", () => {
  let server: RealServer;
  let client: Flotilla;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let input: string;
  const groups: MachineGroup[] = [];

  before(async () => {
    server = await startRealServer();
    client = new Flotilla({ url: server.url, token: server.token });
    work = await mkdtemp(join(tmpdir(), "flotilla-cli-tasks-"));
    env = cliEnv(server, work);
    input = join(work, "case");
    await mkdir(input, { recursive: true });
    await writeFile(join(input, "speed.txt"), "12\n");
  });
  after(async () => {
    for (const group of groups) await group.terminate().catch(() => undefined);
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  const submit = (script: string, on?: string): Promise<Task> =>
    simulators.custom().run(input, { client, on, commands: [["sh", "-c", script]] });
  const startGroup = async (name: string): Promise<string> => {
    const group = new MachineGroup({ name, numMachines: 1, client });
    await group.start();
    groups.push(group);
    return name;
  };

  it("tasks list with no tasks says so on stderr, prints nothing on stdout and exits 0", async () => {
    const listed = await runCli(["tasks", "list"], env);
    assert.deepEqual(listed, { code: 0, stdout: "", stderr: "No tasks found.\n" });
    const json = await runCli(["tasks", "list", "--json"], env);
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.stdout), []);
  });

  it("run prints the id on stdout and how to follow it on stderr; wait --exit-status exits 0 on success", async () => {
    const ran = await runCli(
      [
        "run",
        "custom",
        input,
        "--project",
        "cli",
        "--",
        "sh",
        "-c",
        "echo speed $(cat speed.txt); echo 1 > result.txt",
      ],
      env,
    );
    assert.equal(ran.code, 0, ran.stderr);
    const id = ran.stdout.trim();
    assert.match(id, /^[0-9a-z]{15}$/);
    assert.match(ran.stderr, new RegExp(`flotilla logs ${id}`));
    assert.match(ran.stderr, new RegExp(`flotilla tasks wait ${id}`));
    const waited = await runCli(["tasks", "wait", id, "--exit-status"], env);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(waited.stdout, `task ${id} success (exit code 0)\n`);
    const logs = await runCli(["logs", id], env);
    assert.deepEqual(logs, { code: 0, stdout: "speed 12\n", stderr: "" });
  });

  it("wait --exit-status exits 1 for a failed task, and 8 when the task still runs at --timeout", async () => {
    const failing = await submit("echo broken >&2; exit 3");
    const failed = await runCli(["tasks", "wait", failing.id, "--exit-status"], env);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, new RegExp(`task ${failing.id} failed \\(exit code 3; broken\\)`));
    const plain = await runCli(["tasks", "wait", failing.id], env);
    assert.equal(plain.code, 0, "without --exit-status an ended task is success for wait");

    const slow = await submit("sleep 30");
    const pending = await runCli(["tasks", "wait", slow.id, "--timeout", "0.3"], env);
    assert.equal(pending.code, 8);
    assert.match(
      pending.stderr,
      new RegExp(`task ${slow.id} is still (in-queue|submitted|started)`),
    );
    const killed = await runCli(["tasks", "kill", "-y", "--wait", slow.id], env);
    assert.match(
      killed.stdout,
      new RegExp(`^task ${slow.id} killed \\(it was (in-queue|submitted|started)\\)\n$`),
    );
    const after = await runCli(["tasks", "wait", slow.id, "--exit-status"], env);
    assert.equal(after.code, 1, "killed counts as not success");
  });

  it("tasks list: tab-separated in a pipe, a colored table on a terminal, no colors with NO_COLOR", async () => {
    const task = await submit("echo listed");
    await task.wait();
    const piped = await runCli(["tasks", "list", "-n", "50"], env);
    assert.equal(piped.code, 0);
    const line = piped.stdout.split("\n").find((row) => row.startsWith(task.id));
    const fields = line?.split("\t") ?? [];
    assert.equal(fields.length, 9, line);
    assert.deepEqual(fields.slice(0, 5), [task.id, "custom", "success", "default", "default"]);
    assert.match(fields[5]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, "ISO times in a pipe");
    assert.match(fields[7]!, /^\d+:\d\d:\d\d$/);
    assert.doesNotMatch(piped.stdout, /\u001b/);

    const tty = await runCliTty(["tasks", "list", "-n", "50"], env);
    assert.equal(tty.code, 0);
    assert.match(
      tty.stdout,
      /\u001b\[1mID +SIMULATOR +STATUS +MACHINE GROUP +PROJECT +SUBMITTED +STARTED +COMPUTATION +TOTAL/,
    );
    assert.match(
      tty.stdout,
      new RegExp(`${task.id}  custom     \\u001b\\[32msuccess\\u001b\\[39m`),
    );
    assert.match(tty.stdout, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/, "local times on a terminal");

    const noColor = await runCliTty(["tasks", "list", "-n", "50"], { ...env, NO_COLOR: "1" });
    assert.match(noColor.stdout, /ID +SIMULATOR +STATUS/);
    assert.doesNotMatch(noColor.stdout, /\u001b\[/);

    const filtered = await runCli(["tasks", "list", "--status", "failed", "--json"], env);
    const records = JSON.parse(filtered.stdout) as { status: string }[];
    assert.ok(records.length >= 1 && records.every((record) => record.status === "failed"));
    const bad = await runCli(["tasks", "list", "--status", "completed"], env);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /error: unknown status "completed" \(a task that ended well is "success"\)/,
    );
  });

  it("tasks info shows state, timeline with phase durations and sizes; --json is the record", async () => {
    const task = await submit("echo info; echo 12345 > out.txt");
    await task.wait();
    const piped = await runCli(["tasks", "info", task.id], env);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, new RegExp(`^Task ${task.id}  success\\n`));
    assert.match(piped.stdout, /exit code +0/);
    assert.match(
      piped.stdout,
      /Timeline\n {2}pending-input .*\n {2}in-queue .*\n {2}submitted .*\n {2}started .*\n {2}success /,
    );
    assert.match(piped.stdout, /computation +\d+(ms|\.\d+s)/);
    assert.match(piped.stdout, /output +6 B in 1 file\(s\)/);
    assert.doesNotMatch(piped.stdout, /\u001b/);

    const tty = await runCliTty(["tasks", "info", task.id], env);
    assert.match(
      tty.stdout,
      new RegExp(`\\u001b\\[1mTask ${task.id}\\u001b\\[22m  \\u001b\\[32msuccess`),
    );
    assert.match(tty.stdout, /\u001b\[1mTimeline/);

    const json = await runCli(["tasks", "info", task.id, "--json"], env);
    const record = JSON.parse(json.stdout) as {
      id: string;
      status: string;
      metrics: { outputFiles: number };
    };
    assert.deepEqual(
      [record.id, record.status, record.metrics.outputFiles],
      [task.id, "success", 1],
    );
  });

  it("tasks download verifies the files and never writes into a non-empty directory without --force", async () => {
    const task = await submit("mkdir -p out; echo 42 > out/answer.txt; echo log > run.log");
    await task.wait();
    const dir = join(work, "downloads", task.id);
    const first = await runCli(["tasks", "download", task.id, "-o", dir], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `${dir}\n`);
    assert.match(
      first.stderr,
      /Downloaded 2 file\(s\), 7 B, of task \w+ \(success\); sha256 verified/,
    );
    assert.equal(await readFile(join(dir, "out", "answer.txt"), "utf8"), "42\n");

    const again = await runCli(["tasks", "download", task.id, "-o", dir], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists and is not empty; pass --force/);
    await writeFile(join(dir, "out", "answer.txt"), "changed");
    const forced = await runCli(
      ["tasks", "download", task.id, "-o", dir, "--force", "--files", "out/answer.txt"],
      env,
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await readFile(join(dir, "out", "answer.txt"), "utf8"), "42\n");

    const defaultDir = await runCli(["tasks", "download", task.id], env, { cwd: work });
    assert.equal(defaultDir.stdout, `${join(work, "flotilla-output", task.id, "outputs")}\n`);
    assert.deepEqual((await readdir(join(work, "flotilla-output", task.id, "outputs"))).sort(), [
      "out",
      "run.log",
    ]);
  });

  it("tasks kill asks on a terminal: no exits 2 and kills nothing, yes kills; -y in a pipe says each state", async () => {
    const group = await startGroup("kill-cli");
    const blocker = await submit("sleep 60", group);
    const queued = await submit("echo never", group);
    await client.waitTask(blocker.id, 15_000, undefined, "in-queue");

    const declined = await runCliTty(["tasks", "kill", queued.id], env, {
      prompt: "[y/N]",
      answer: "n\n",
    });
    assert.equal(declined.code, 2, declined.stdout);
    assert.match(
      declined.stdout,
      new RegExp(`Kill ${queued.id}\\? \\[y/N\\] n\\nCancelled; nothing was killed\\.`),
    );
    assert.equal((await client.getTask(queued.id)).status, "in-queue");

    const accepted = await runCliTty(["tasks", "kill", queued.id], env, {
      prompt: "[y/N]",
      answer: "y\n",
    });
    assert.equal(accepted.code, 0, accepted.stdout);
    assert.match(
      accepted.stdout,
      new RegExp(`task ${queued.id} \\u001b\\[33mkilled\\u001b\\[39m \\(it was in-queue\\)`),
    );

    await client.waitTask(blocker.id, 15_000, undefined, "submitted");
    const requested = await runCli(["tasks", "kill", blocker.id], env);
    assert.equal(requested.code, 0, "in a pipe there is no prompt");
    assert.match(
      requested.stdout,
      new RegExp(
        `task ${blocker.id} is (started|submitted); kill requested: machine \\w+ stops it`,
      ),
    );
    const confirmed = await runCli(["tasks", "kill", "-y", "--wait", blocker.id], env);
    assert.equal(confirmed.stdout, `task ${blocker.id} killed (it was started)\n`);

    const done = await submit("true");
    await done.wait();
    const ended = await runCli(["tasks", "kill", "-y", done.id, queued.id], env);
    assert.equal(ended.code, 1);
    assert.equal(ended.stderr, `error: task ${done.id} is already success; nothing to kill\n`);
    assert.equal(
      ended.stdout,
      `task ${queued.id} killed (it was in-queue)\n`,
      "the other task is still handled, and killing it again is no error",
    );
  });

  it("logs started before the task runs shows its whole output in order, pushed as it is written", async (t) => {
    const group = await startGroup("logs-cli");
    const blocker = await submit("sleep 60", group);
    const script =
      'i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo "line $i $(date +%s%3N)"; sleep 0.05; done; echo "to stderr" >&2';
    const task = await submit(script, group);
    const logs = spawnCli(["logs", task.id], env);
    try {
      const all = spawnCli(["logs", task.id, "--all"], env);
      const { logs: appends } = server.server.deps.events;
      await eventually(
        () => (appends.listenerCount(`${task.id}:stdout`) >= 2 ? true : undefined),
        15_000,
        "both logs commands following the stream",
      );
      assert.equal((await client.getTask(task.id)).status, "in-queue", "logs runs before the task");
      await blocker.kill();
      assert.equal(await logs.exited, 0, logs.stderr());
      assert.equal(await all.exited, 0);
      const texts = logs.lines.map((line) => line.text.split(" ").slice(0, 2).join(" "));
      assert.deepEqual(
        texts,
        Array.from({ length: 30 }, (_, i) => `line ${i + 1}`),
      );
      assert.equal(all.lines.length, 30);
      assert.equal(all.stderr(), "to stderr\n");
      const latencies = logs.lines.map((line) => line.atMs - Number(line.text.split(" ")[2]));
      const { median, max } = summarize(latencies);
      t.diagnostic(
        `logs latency (line written → printed by flotilla logs): median ${median} ms, max ${max} ms over ${latencies.length} lines`,
      );
    } finally {
      await logs.stop();
    }
  });

  it("after the end, list-files, tail and last-modified-file answer from the stored outputs; top names the state", async () => {
    const task = await submit(
      "mkdir -p out; printf 'a\\nb\\nc\\n' > out/log.txt; echo first; echo last",
    );
    await task.wait();
    const files = await runCli(["tasks", "list-files", "--id", task.id], env);
    assert.equal(files.code, 0, files.stderr);
    assert.match(files.stdout, /^out\/log\.txt\t6\t\d{4}-/m);
    const tailed = await runCli(
      ["tasks", "tail", task.id, "--file", "out/log.txt", "-L", "2"],
      env,
    );
    assert.equal(tailed.stdout, "b\nc\n");
    const stdout = await runCli(["tasks", "tail", "--id", task.id, "-L", "1"], env);
    assert.equal(stdout.stdout, "last\n");
    const followed = await runCli(["tasks", "tail", task.id, "-f", "-L", "5"], env);
    assert.deepEqual(
      [followed.code, followed.stdout],
      [0, "first\nlast\n"],
      "-f on an ended task ends",
    );
    const newest = await runCli(["tasks", "last-modified-file", task.id], env);
    assert.match(newest.stdout, /^most recent file +out\/log\.txt$/m);
    const top = await runCli(["tasks", "top", task.id], env);
    assert.equal(top.code, 1);
    assert.equal(
      top.stderr,
      `error: task ${task.id} is success; top shows its processes only while it runs\n`,
    );
  });

  it("errors name the task; an unknown id exits 1 and a bad token exits 4", async () => {
    const missing = await runCli(["tasks", "info", "zzzzzzzzzzzzzzz"], env);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^error: task zzzzzzzzzzzzzzz not found; check the id with `flotilla tasks list`\n$/,
    );
    const denied = await runCli(["tasks", "list"], { ...env, FLOTILLA_TOKEN: "not-a-token" });
    assert.equal(denied.code, 4);
    assert.match(denied.stderr, /^error: the token is not valid/);
    const usage = await runCli(["tasks", "wait"], env);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /missing required argument 'id'/);
    const help = await runCli(["tasks", "kill", "--help"], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:\n {2}\$ flotilla tasks kill/);
  });
});
