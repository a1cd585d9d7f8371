// What every command gets: the streams and whether they are terminals, styles (colors only on a
// terminal and without NO_COLOR), the environment, the server connection, a yes/no prompt, the
// clock. Results go to stdout, diagnostics and prompts to stderr.
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { Flotilla } from "../sdk/index.js";
import { createStyle, shouldColor, type Style } from "./output/style.js";

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal: tables, local times, colors (unless NO_COLOR). */
  readonly isTty: boolean;
  /** stderr is a terminal: progress bars, status lines. */
  readonly stderrIsTty: boolean;
  /** Styles for what goes to stdout. */
  readonly style: Style;
  /** Styles for what goes to stderr. */
  readonly errStyle: Style;
  /** Width of the stderr terminal, when it is one. */
  readonly columns: number | undefined;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Asks on the terminal; false when stdin is not a terminal, on "no", empty, EOF or Ctrl-C. */
  readonly confirm: (question: string) => Promise<boolean>;
  /** True when a prompt can be shown and answered. */
  readonly canPrompt: boolean;
  /** The client: FLOTILLA_URL/FLOTILLA_TOKEN, the credentials file, or the embedded server. */
  readonly connect: () => Promise<Flotilla>;
  readonly now: () => number;
}

/** The io of this process. */
export function createProcessIo(): CliIo {
  const env = process.env;
  const isTty = process.stdout.isTTY === true;
  const stderrIsTty = process.stderr.isTTY === true;
  const canPrompt = process.stdin.isTTY === true && stderrIsTty;
  let client: Promise<Flotilla> | undefined;
  return {
    env,
    isTty,
    stderrIsTty,
    style: createStyle(shouldColor(isTty, env)),
    errStyle: createStyle(shouldColor(stderrIsTty, env)),
    columns: stderrIsTty && process.stderr.columns > 0 ? process.stderr.columns : undefined,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    confirm: (question) => (canPrompt ? askYesNo(question) : Promise.resolve(false)),
    canPrompt,
    connect: () => (client ??= Flotilla.connect()),
    now: Date.now,
  };
}

async function askYesNo(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const interrupted = new Promise<string>((resolve) => {
    prompt.once("SIGINT", () => {
      process.stderr.write("\n");
      resolve("");
    });
    prompt.once("close", () => resolve(""));
  });
  try {
    const asked = prompt.question(`${question} [y/N] `).catch(() => "");
    const answer = await Promise.race([asked, interrupted]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

/** The server's data dir: `--data-dir`, else FLOTILLA_DATA_DIR, else ~/.flotilla. */
export function resolveDataDir(io: CliIo, option: string | undefined): string {
  const fromEnv = io.env.FLOTILLA_DATA_DIR?.trim();
  return (
    option ?? (fromEnv === undefined || fromEnv === "" ? join(homedir(), ".flotilla") : fromEnv)
  );
}
