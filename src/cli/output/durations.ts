// Durations and times for people. Tables use H:MM:SS (columns line up); `info` uses short forms
// (450ms, 12.3s, 4m05s, 2h03m). Times are local on a terminal and ISO-8601 (UTC) in pipes.

/** H:MM:SS, e.g. 0:00:07, 12:03:45. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return `${hours}:${String(minutes).padStart(2, "0")}:${String(seconds).padStart(2, "0")}`;
}

/** 450ms, 12.3s, 4m05s, 2h03m, 3d04h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`;
  if (seconds < 86_400)
    return `${Math.floor(seconds / 3600)}h${pad2(Math.floor(seconds / 60) % 60)}m`;
  return `${Math.floor(seconds / 86_400)}d${pad2(Math.floor(seconds / 3600) % 24)}h`;
}

/** Local "YYYY-MM-DD HH:MM:SS" on a terminal; the ISO-8601 string itself in a pipe. */
export function formatTime(iso: string | undefined, tty: boolean): string {
  if (iso === undefined) return tty ? "-" : "";
  if (!tty) return iso;
  return formatLocalTime(new Date(iso));
}

/** "YYYY-MM-DD HH:MM:SS" in local time. */
export function formatLocalTime(date: Date): string {
  if (Number.isNaN(date.getTime())) return "-";
  const day = `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
  return `${day} ${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

function pad2(value: number): string {
  return String(value).padStart(2, "0");
}
