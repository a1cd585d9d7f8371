// What /proc says about processes: liveness of a process group, and `top` for a task.
// Zombies count as gone: where PID 1 does not reap orphans (containers), the killed children of a
// task stay zombies forever, and `kill(-pgid, 0)` alone would say the group is still alive.
import { readdirSync, readFileSync } from "node:fs";

/** One process as `top` shows it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** One letter as in ps: R running, S sleeping, D disk wait, Z zombie, T stopped, ... */
  readonly state: string;
  readonly command: string;
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

interface StatLine {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  readonly cpuTicks: number;
}

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture Node runs on.
const TICKS_PER_SECOND = 100;
const hasProc = ((): boolean => {
  try {
    readdirSync("/proc/self");
    return true;
  } catch {
    return false;
  }
})();

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited between readdir and read
  }
  // comm may contain spaces and parentheses: it ends at the last ')'.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const rest = text.slice(close + 2).split(" ");
  const field = (index: number): number => Number(rest[index] ?? "0");
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? "?",
    ppid: field(1),
    pgid: field(2),
    cpuTicks: field(11) + field(12),
  };
}

function listStats(): StatLine[] {
  const stats: StatLine[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== undefined) stats.push(stat);
  }
  return stats;
}

function isLiveState(state: string): boolean {
  return state !== "Z" && state !== "X";
}

/** True while a process of group `pgid` exists and is not a zombie. */
export function isProcessGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code !== "EPERM") throw error;
  }
  if (!hasProc) return true;
  return listStats().some((stat) => stat.pgid === pgid && isLiveState(stat.state));
}

/** True while process `pid` exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (!hasProc) return true;
  const stat = readStat(pid);
  return stat !== undefined && isLiveState(stat.state);
}

/** The processes of group `pgid` and all their descendants (which may have left the group). */
export function listProcessTree(pgid: number): ProcessInfo[] {
  if (!hasProc) return [];
  const stats = listStats();
  const chosen = new Set(stats.filter((stat) => stat.pgid === pgid).map((stat) => stat.pid));
  // Descendants: repeat until no new child of a chosen process turns up.
  for (let grew = true; grew;) {
    grew = false;
    for (const stat of stats) {
      if (!chosen.has(stat.pid) && chosen.has(stat.ppid)) {
        chosen.add(stat.pid);
        grew = true;
      }
    }
  }
  return stats.filter((stat) => chosen.has(stat.pid)).map(describeProcess);
}

function describeProcess(stat: StatLine): ProcessInfo {
  return {
    pid: stat.pid,
    ppid: stat.ppid,
    pgid: stat.pgid,
    state: stat.state,
    command: readCommandLine(stat.pid) ?? `[${stat.comm}]`,
    cpuSeconds: stat.cpuTicks / TICKS_PER_SECOND,
    rssBytes: readRssBytes(stat.pid),
  };
}

function readCommandLine(pid: number): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const line = raw
      .split("\0")
      .filter((part) => part !== "")
      .join(" ");
    return line === "" ? undefined : line;
  } catch {
    return undefined;
  }
}

function readRssBytes(pid: number): number {
  try {
    // VmRSS is in kB, which spares us the page size that /proc/<pid>/stat counts in.
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}
