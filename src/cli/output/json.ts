// `--json`: the server's records as they are, pretty-printed, one document per command.
import type { CliIo } from "../io.js";

export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
