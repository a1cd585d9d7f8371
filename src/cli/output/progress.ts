// A progress bar on stderr, drawn only when stderr is a terminal (a pipe or log file gets the
// final summary line only). Redrawn at most every 100 ms.
import { formatBytes } from "./bytes.js";

export interface ProgressBar {
  update(done: number, total: number): void;
  /** Clears the bar (the caller prints its own summary). */
  finish(): void;
}

export interface ProgressTarget {
  readonly isTty: boolean;
  readonly columns: number | undefined;
  write(text: string): void;
}

const REDRAW_MS = 100;

export function createProgressBar(
  target: ProgressTarget,
  label: string,
  now: () => number = Date.now,
): ProgressBar {
  if (!target.isTty) return { update: () => undefined, finish: () => undefined };
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total) {
      const time = now();
      if (time - lastDraw < REDRAW_MS && done < total) return;
      lastDraw = time;
      drawn = true;
      target.write(`\r${renderProgressLine(label, done, total, target.columns ?? 80)}\u001b[K`);
    },
    finish() {
      if (drawn) target.write("\r\u001b[K");
    },
  };
}

/** `label [#########.........]  45%  1.2 MiB / 2.6 MiB`, fitted to `columns`. */
export function renderProgressLine(
  label: string,
  done: number,
  total: number,
  columns: number,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const amounts = `${formatBytes(done)} / ${formatBytes(total)}`;
  const room = columns - label.length - percent.length - amounts.length - 8;
  const width = Math.max(10, Math.min(40, room));
  const filled = Math.round(fraction * width);
  return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${percent}  ${amounts}`;
}
