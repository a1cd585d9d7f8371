// Where a runner records the process group of the command it runs, so that whoever supervises
// the runner can kill the task's processes if the runner itself dies (SIGKILL, OOM killer).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** File in a task dir holding the process group id of the command running now. */
export const PROCESS_GROUP_FILE = "process-group";

/** SIGKILLs every process group recorded under a runner's work dir; returns how many. */
export function killRecordedProcessGroups(workDir: string): number {
  const tasksDir = join(workDir, "tasks");
  let killed = 0;
  let entries: string[];
  try {
    entries = readdirSync(tasksDir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    try {
      const pgid = Number(readFileSync(join(tasksDir, entry, PROCESS_GROUP_FILE), "utf8").trim());
      if (!Number.isInteger(pgid) || pgid <= 1) continue;
      process.kill(-pgid, "SIGKILL");
      killed += 1;
    } catch {
      // no record, or the group is already gone
    }
  }
  return killed;
}
