// Tables: aligned columns under bold upper-case headers on a terminal; in a pipe, one line per row
// with tab-separated fields and no header (like `gh`), so `cut -f` and `awk -F'\t'` just work.
import { visibleLength, type Style } from "./style.js";

export interface Column<T> {
  readonly header: string;
  /** The cell as shown on a terminal (may be styled). */
  readonly cell: (row: T) => string;
  /** The field in a pipe; the unstyled terminal cell when absent. */
  readonly field?: (row: T) => string;
  readonly align?: "left" | "right";
}

export interface TableOptions {
  /** A terminal: aligned and styled. Otherwise tab-separated. */
  readonly tty: boolean;
  readonly style: Style;
}

/** The table as text, ending with a newline ("" for no rows). */
export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  options: TableOptions,
): string {
  if (rows.length === 0) return "";
  if (!options.tty) {
    const fields = rows.map((row) =>
      columns.map((column) => clean((column.field ?? column.cell)(row))),
    );
    return fields.map((line) => `${line.join("\t")}\n`).join("");
  }
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((line) => visibleLength(line[index] ?? ""))),
  );
  const pad = (text: string, index: number): string => {
    const width = widths[index] ?? 0;
    const fill = " ".repeat(Math.max(0, width - visibleLength(text)));
    return columns[index]?.align === "right" ? fill + text : text + fill;
  };
  const format = (line: readonly string[]): string =>
    `${line.map(pad).join("  ").replace(/\s+$/, "")}\n`;
  const header = format(columns.map((column) => column.header.toUpperCase()));
  return options.style.bold(header.slice(0, -1)) + "\n" + cells.map(format).join("");
}

/** Tabs and newlines inside a field would break the line format: show them as spaces. */
function clean(field: string): string {
  return field.replace(/\u001b\[[0-9;]*m/g, "").replace(/[\t\r\n]+/g, " ");
}

/** Key-value lines (`tasks info`, `machine-groups info`): keys padded to one width. */
export function renderFields(
  fields: readonly (readonly [string, string | undefined])[],
  style: Style,
  indent = "  ",
): string {
  const shown = fields.filter(
    (field): field is readonly [string, string] => field[1] !== undefined,
  );
  const width = Math.max(0, ...shown.map(([key]) => key.length));
  return shown
    .map(([key, value]) => `${indent}${style.dim(key.padEnd(width))}  ${value}\n`)
    .join("");
}
