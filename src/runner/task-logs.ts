// Where a task's stdout and stderr go: a file on the machine (for `tail`), the server (shipped
// in order, batched), and a small in-memory tail of each that becomes the failure reason.
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import type { FlotillaError } from "../domain/errors.js";
import { createLogShipper, type LogShipper } from "./log-shipper.js";
import type { LogStream, RunnerApi } from "./runner-api.js";

const STDERR_TAIL_BYTES = 4096;
const STDERR_TAIL_LINES = 20;
// What a recipe's findError looks at: solvers print their error then a few lines more.
const OUTPUT_TAIL_BYTES = 16_384;

export interface TaskLogsOptions {
  readonly api: RunnerApi;
  readonly machineId: string;
  readonly taskId: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  readonly onLeaseLost: (error: FlotillaError) => void;
  readonly log: (line: string) => void;
}

export interface TaskLogs {
  write(stream: LogStream, chunk: Buffer): void;
  /** The last ~20 lines (at most 4 KB) of stderr. */
  stderrTail(): string;
  /** The last 16 KB of each stream, for a recipe's findError. */
  outputTails(): { stdout: string; stderr: string };
  /** Flushes to the server and closes the files. */
  close(): Promise<void>;
}

export function openTaskLogs(options: TaskLogsOptions): TaskLogs {
  // Opened at the first byte: most tasks print little or nothing, and an absent file reads as
  // empty for `tail` (introspect.ts), so a silent stream costs no open and close.
  const paths: Record<LogStream, string> = {
    stdout: options.stdoutPath,
    stderr: options.stderrPath,
  };
  const files: Partial<Record<LogStream, WriteStream>> = {};
  const fileOf = (stream: LogStream): WriteStream => {
    const opened = files[stream];
    if (opened !== undefined) return opened;
    const file = createWriteStream(paths[stream], { flags: "a" });
    // A full disk must not crash the runner: the server still gets the output.
    file.on("error", (error) => options.log(`cannot write ${String(file.path)}: ${error.message}`));
    files[stream] = file;
    return file;
  };
  const shipper = (stream: LogStream): LogShipper =>
    createLogShipper({
      send: (chunk) => options.api.appendLog(options.machineId, options.taskId, stream, chunk),
      onLeaseLost: options.onLeaseLost,
      log: options.log,
    });
  const shippers: Record<LogStream, LogShipper> = {
    stdout: shipper("stdout"),
    stderr: shipper("stderr"),
  };
  const tails: Record<LogStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  return {
    write(stream, chunk) {
      fileOf(stream).write(chunk);
      shippers[stream].write(chunk);
      tails[stream] = Buffer.concat([tails[stream], chunk]).subarray(-OUTPUT_TAIL_BYTES);
    },
    outputTails() {
      return { stdout: tails.stdout.toString("utf8"), stderr: tails.stderr.toString("utf8") };
    },
    stderrTail() {
      const lines = tails.stderr.subarray(-STDERR_TAIL_BYTES).toString("utf8").split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      return lines.slice(-STDERR_TAIL_LINES).join("\n");
    },
    async close() {
      await Promise.all([shippers.stdout.close(), shippers.stderr.close()]);
      await Promise.all(
        Object.values(files).map(async (file) => {
          if (file.closed) return;
          file.end();
          await once(file, "close").catch(() => undefined);
        }),
      );
    },
  };
}
