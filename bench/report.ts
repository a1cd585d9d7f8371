// The markdown table of a run: one line per measure, then the skipped columns, said loudly.
import type { BenchRun, ResultRow } from "./result.js";

function cell(value: number | null | undefined, unit = ""): string {
  if (value === null || value === undefined) return "—";
  return `${value}${unit === "" ? "" : ` ${unit}`}`;
}

function metCell(row: ResultRow): string {
  if (row.target === undefined) return "";
  if (row.met === true) return "met";
  if (row.met === false) return "**not met**";
  return "n/a";
}

export function renderMarkdown(run: BenchRun): string {
  const lines = [
    `## flotilla bench (${run.profile}) — ${run.startedAt}`,
    "",
    `${run.host.cpus} CPUs, ${run.host.memoryMb} MB, node ${run.host.node}; ${Math.round(run.elapsedMs / 1000)} s`,
    "",
    "| scenario | measure | flotilla | peer | peer value | ratio | target | met | note |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const scenario of run.scenarios) {
    for (const row of scenario.rows) {
      const peerUnit = row.peer === undefined ? "" : row.unit;
      lines.push(
        `| ${row.scenario} | ${row.measure} | ${cell(row.value, row.unit)} | ${row.peer ?? ""} | ${
          row.peer === undefined ? "" : cell(row.peerValue, peerUnit)
        } | ${row.ratio === undefined || row.ratio === null ? "" : `${row.ratio}×`} | ${
          row.target ?? ""
        } | ${metCell(row)} | ${row.note ?? ""} |`,
      );
    }
    if (scenario.error !== undefined) {
      lines.push(
        `| ${scenario.name} | **FAILED** | — | | | | | | ${scenario.error.replace(/\|/g, "/")} |`,
      );
    }
  }
  const skipped = run.scenarios.flatMap((s) => s.skipped.map((k) => ({ ...k, scenario: s.name })));
  if (skipped.length > 0) {
    lines.push("", "**Skipped columns:**", "");
    for (const skip of skipped)
      lines.push(`- SKIPPED ${skip.scenario} / ${skip.column}: ${skip.reason}`);
  }
  return `${lines.join("\n")}\n`;
}
