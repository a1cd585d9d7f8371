// Helpers for the runner tests: temp dirs, waiting on conditions with deadlines (never fixed
// sleeps), and making sure no process a test started survives it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { RunningCommand } from "../../src/runner/executor.js";

/** Polls `check` until it returns a value other than undefined/false, or fails after the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Collects everything a stream emits, as text, in a live-updating holder. */
export function captureText(stream: Readable): { text: () => string } {
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { text: () => text };
}

export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-runner-test-"));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Last-resort cleanup: SIGKILL whatever is left of a command's group. */
export function killLeftovers(command: RunningCommand | undefined): void {
  if (command === undefined) return;
  try {
    process.kill(-command.pid, "SIGKILL");
  } catch {
    // already gone
  }
}
