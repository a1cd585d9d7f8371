// Runs the real `flotilla` command as a child process against a real server: in a pipe (plain
// child process) or on a terminal (under `script`, which gives it a pseudo-terminal).
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// build/tests/cli/cli-harness.js → the package root, three levels up.
export const CLI = join(dirname(fileURLToPath(import.meta.url)), "../../../bin/flotilla.js");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliTarget {
  readonly url: string;
  readonly token: string;
}

/**
 * An environment pointing at `server`, with HOME in `workDir` (no credentials file, no embedded
 * server of the host) and no color settings from the host.
 */
export function cliEnv(
  server: CliTarget,
  workDir: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const home = join(workDir, "home");
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ["NO_COLOR", "FORCE_COLOR", "FLOTILLA_DATA_DIR", "FLOTILLA_OUTPUT_DIR"]) {
    delete env[key];
  }
  return {
    ...env,
    HOME: home,
    FLOTILLA_CONFIG_DIR: join(home, "config"),
    FLOTILLA_URL: server.url,
    FLOTILLA_TOKEN: server.token,
    TERM: "xterm",
    ...extra,
  };
}

/** Runs `flotilla <args>` in a pipe and resolves when it exits. */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collect(child, options.timeoutMs ?? 30_000, `flotilla ${args.join(" ")}`);
}

function collect(child: ChildProcess, timeoutMs: number, what: string): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${what} did not exit within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Quotes one word for sh. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `flotilla <args>` on a pseudo-terminal (stdin, stdout and stderr all terminals) under
 * `script`. `answer` is typed once `prompt` appears. Output is stdout and stderr together, with
 * the terminal's \r\n line ends turned into \n.
 */
export function runCliTty(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { prompt?: string; answer?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    env: { ...env, SHELL: "/bin/sh" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let seen = "";
  let answered = false;
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    seen += text;
    if (!answered && options.prompt !== undefined && seen.includes(options.prompt)) {
      answered = true;
      child.stdin.write(options.answer ?? "\n");
    }
  });
  const done = collect(child, options.timeoutMs ?? 30_000, `script ${command}`);
  return done.then((result) => {
    child.stdin.destroy();
    // The terminal's line ends, and readline's cursor moves (not colors) around a prompt.
    const text = result.stdout.replace(/\r+\n/g, "\n").replace(/\u001b\[\d*[GJK]/g, "");
    return { ...result, stdout: text };
  });
}

/** A long-running `flotilla` command (logs, tail -f) whose lines are timestamped on arrival. */
export interface CliStream {
  readonly child: ChildProcess;
  /** Complete stdout lines so far, with the time (ms since epoch) each arrived. */
  readonly lines: { text: string; atMs: number }[];
  readonly stderr: () => string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Waits until a line satisfies `match`. */
  waitForLine(match: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM (if still running) and wait for the exit. */
  stop(): Promise<void>;
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): CliStream {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: { text: string; atMs: number }[] = [];
  const waiters = new Set<() => void>();
  let partial = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    const atMs = Date.now();
    const parts = (partial + text).split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) lines.push({ text: part, atMs });
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  void exited.then(() => {
    for (const wake of waiters) wake();
  });
  const what = `flotilla ${args.join(" ")}`;
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine: (match, timeoutMs = 15_000) =>
      waitForLine({ lines, waiters, child, stderr: () => stderr, what }, match, timeoutMs),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

interface LineSource {
  readonly lines: readonly { text: string }[];
  readonly waiters: Set<() => void>;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly what: string;
}

function waitForLine(
  source: LineSource,
  match: (text: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      source.waiters.delete(check);
      settle();
    };
    const check = (): void => {
      const found = source.lines.find((line) => match(line.text));
      if (found !== undefined) return finish(() => resolve(found.text));
      if (source.child.exitCode !== null || source.child.signalCode !== null) {
        const why = `${source.what} exited before the line came; stderr: ${source.stderr()}`;
        finish(() => reject(new Error(why)));
      }
    };
    const timer = setTimeout(() => {
      const got = JSON.stringify(source.lines.map((line) => line.text));
      const why = `no matching line from ${source.what} within ${timeoutMs} ms; got ${got}; stderr: ${source.stderr()}`;
      finish(() => reject(new Error(why)));
    }, timeoutMs);
    source.waiters.add(check);
    check();
  });
}

/** Median and maximum of a list of numbers. */
export function summarize(values: readonly number[]): {
  median: number;
  max: number;
  count: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    count: sorted.length,
  };
}
