// Child processes of the bench: run a command to completion, and read a process's memory.
import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file args` (no shell) and collects its output; never rejects on a non-zero exit. */
export function runCommand(file: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code === "string") {
        reject(new Error(`cannot run ${file}: ${error.message}`, { cause: error }));
        return;
      }
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Spawns `file args` with no I/O and resolves with its exit code (the bare-spawn limit). */
export function spawnQuiet(file: string, args: readonly string[] = []): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
}

/** Is `name` an executable on PATH? */
export async function hasCommand(name: string): Promise<boolean> {
  const result = await runCommand("sh", ["-c", `command -v ${name}`]).catch(() => undefined);
  return result?.code === 0;
}

/** Resident and peak resident memory of a process in MiB (Linux /proc). */
export async function readMemoryMb(pid: number): Promise<{ rssMb: number; peakRssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (match?.[1] === undefined) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Math.round((Number(match[1]) / 1024) * 10) / 10;
  };
  return { rssMb: field("VmRSS"), peakRssMb: field("VmHWM") };
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, 100 ticks a second). */
export async function readCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10;
}
