import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { taskIdFrom } from "../../src/cli/command-helpers.js";
import { formatBytes } from "../../src/cli/output/bytes.js";
import { formatClock, formatDuration, formatTime } from "../../src/cli/output/durations.js";
import { renderProgressLine } from "../../src/cli/output/progress.js";
import { createStyle, shouldColor, visibleLength } from "../../src/cli/output/style.js";
import { renderTable, type Column } from "../../src/cli/output/table.js";
import { lastLines } from "../../src/services/follow-task-file.js";

const rows = [
  { id: "a1", status: "success" as const, size: 5 },
  { id: "b22222", status: "failed" as const, size: 12345 },
];

describe("CLI output", () => {
  const color = createStyle(true);
  const columns: Column<(typeof rows)[number]>[] = [
    { header: "id", cell: (row) => row.id },
    { header: "status", cell: (row) => color.status(row.status), field: (row) => row.status },
    {
      header: "size",
      cell: (row) => formatBytes(row.size),
      field: (row) => String(row.size),
      align: "right",
    },
  ];

  it("a terminal table aligns columns under bold upper-case headers, ignoring color codes", () => {
    const text = renderTable(rows, columns, { tty: true, style: color });
    const lines = text.split("\n");
    assert.equal(lines[0], "\u001b[1mID      STATUS       SIZE\u001b[22m");
    assert.equal(lines[1], `a1      ${color.green("success")}       5 B`);
    assert.equal(lines[2], `b22222  ${color.red("failed")}   12.1 KiB`);
    assert.equal(visibleLength(lines[1]), visibleLength(lines[2]));
  });

  it("a piped table is tab-separated, without header or escapes, with the pipe fields", () => {
    const text = renderTable(rows, columns, { tty: false, style: color });
    assert.equal(text, "a1\tsuccess\t5\nb22222\tfailed\t12345\n");
  });

  it("NO_COLOR and a non-terminal turn colors off; TERM=dumb too", () => {
    assert.equal(shouldColor(true, {}), true);
    assert.equal(shouldColor(true, { NO_COLOR: "1" }), false);
    assert.equal(shouldColor(true, { NO_COLOR: "" }), true, "an empty NO_COLOR does not count");
    assert.equal(shouldColor(false, {}), false);
    assert.equal(shouldColor(true, { TERM: "dumb" }), false);
    assert.equal(createStyle(false).status("failed"), "failed");
  });

  it("durations: H:MM:SS for tables, short forms for info", () => {
    assert.equal(formatClock(0), "0:00:00");
    assert.equal(formatClock(3_723_999), "1:02:03");
    assert.equal(formatDuration(450), "450ms");
    assert.equal(formatDuration(12_345), "12.3s");
    assert.equal(formatDuration(245_000), "4m05s");
    assert.equal(formatDuration(7_380_000), "2h03m");
    assert.equal(formatTime(undefined, true), "-");
    assert.equal(formatTime("2026-01-02T03:04:05.000Z", false), "2026-01-02T03:04:05.000Z");
    assert.match(formatTime("2026-01-02T03:04:05.000Z", true), /^2026-01-0[12] \d\d:\d\d:05$/);
  });

  it("bytes are shown in binary units", () => {
    assert.equal(formatBytes(0), "0 B");
    assert.equal(formatBytes(1023), "1023 B");
    assert.equal(formatBytes(1536), "1.50 KiB");
    assert.equal(formatBytes(50 * 1024 ** 2), "50.0 MiB");
  });

  it("the progress line fits the terminal and never passes 100%", () => {
    const line = renderProgressLine("Downloading x", 3000, 1000, 60);
    assert.match(line, /^Downloading x \[#+\] 100%/);
    assert.ok(line.length <= 80);
    assert.match(renderProgressLine("d", 0, 0, 80), /\[\.+\]\s+0%/);
  });

  it("the last lines of a text keep a final line without newline", () => {
    assert.equal(lastLines("a\nb\nc\n", 2), "b\nc\n");
    assert.equal(lastLines("a\nb\nc", 2), "b\nc");
    assert.equal(lastLines("", 3), "");
    assert.equal(lastLines("only\n", 5), "only\n");
  });

  it("a task id comes from the argument or --id, not two different ones", () => {
    assert.equal(taskIdFrom("x", undefined), "x");
    assert.equal(taskIdFrom(undefined, "y"), "y");
    assert.equal(taskIdFrom("z", "z"), "z");
    assert.throws(() => taskIdFrom("x", "y"), /two task ids/);
    assert.throws(() => taskIdFrom(undefined, undefined), /give a task id/);
  });
});
