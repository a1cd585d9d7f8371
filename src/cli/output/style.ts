// ANSI styles, only on a terminal and only without NO_COLOR (https://no-color.org).
import type { TaskStatus } from "../../sdk/index.js";

export interface Style {
  readonly enabled: boolean;
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly cyan: (text: string) => string;
  /** A status in the color users learn: green success, red failed, yellow killed, cyan started. */
  readonly status: (status: TaskStatus) => string;
}

/** Colors go to a stream that is a terminal, unless NO_COLOR is set to anything but "". */
export function shouldColor(
  isTty: boolean,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return isTty && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
}

export function createStyle(enabled: boolean): Style {
  const wrap =
    (open: number, close: number) =>
    (text: string): string =>
      enabled && text !== "" ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  const style = {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
  return { ...style, status: (status) => colorStatus(style, status) };
}

function colorStatus(style: Omit<Style, "status">, status: TaskStatus): string {
  switch (status) {
    case "success":
      return style.green(status);
    case "failed":
      return style.red(status);
    case "killed":
      return style.yellow(status);
    case "started":
      return style.cyan(status);
    case "pending-input":
    case "in-queue":
    case "submitted":
      return style.dim(status);
  }
}

/** Length of `text` as shown, without ANSI escapes. */
export function visibleLength(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}
