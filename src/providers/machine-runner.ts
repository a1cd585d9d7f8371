// What both providers start a machine with: the `flotilla runner start` command line of one
// machine, and the budget that keeps a crashing group from being replaced in a tight loop.
import { join } from "node:path";
import type { MachineGroup } from "../domain/machine-group.js";

/** Arguments after `node` for one machine's runner; its work dir is `<machineDir>/work`. */
export function runnerArguments(
  cliPath: string,
  serverUrl: string,
  group: MachineGroup,
  machineId: string,
  machineDir: string,
): string[] {
  return [
    "--enable-source-maps",
    cliPath,
    "runner",
    "start",
    "--server",
    serverUrl,
    "--machine-group",
    group.name,
    "--machine-id",
    machineId,
    "--work-dir",
    join(machineDir, "work"),
  ];
}

/** At most 5 replacements per group per minute, after a delay that doubles from `firstDelayMs`. */
export function createReplacementBudget(firstDelayMs: number): {
  next(group: string): number | undefined;
} {
  const recent = new Map<string, number[]>();
  return {
    next(group) {
      const now = Date.now();
      const times = (recent.get(group) ?? []).filter((at) => now - at < 60_000);
      if (times.length >= 5) return undefined;
      times.push(now);
      recent.set(group, times);
      return firstDelayMs * 2 ** (times.length - 1);
    },
  };
}
