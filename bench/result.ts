// The shape of a bench run: one row per measure, side by side with its peer, with the target.

export interface ResultRow {
  readonly scenario: string;
  readonly measure: string;
  /** flotilla's number; null when it could not be measured (see note). */
  readonly value: number | null;
  readonly unit: string;
  /** What the number is compared with ("bare spawn", "Slurm", "cp -r"), if anything. */
  readonly peer?: string | undefined;
  readonly peerValue?: number | null | undefined;
  /** value / peerValue, for rates; the row's note says which way is better. */
  readonly ratio?: number | null | undefined;
  /** The target in words ("≥ 0.5× bare spawn"). */
  readonly target?: string | undefined;
  /** true/false against the target; null when there is no target or no number. */
  readonly met?: boolean | null | undefined;
  readonly note?: string | undefined;
}

export interface SkippedColumn {
  readonly column: string;
  readonly reason: string;
}

export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly rows: readonly ResultRow[];
  readonly skipped: readonly SkippedColumn[];
  /** Raw numbers behind the rows (sample counts, distributions, sizes). */
  readonly details: Readonly<Record<string, unknown>>;
  readonly elapsedMs: number;
  /** Set when the scenario itself failed; its rows are then whatever was measured before. */
  readonly error?: string | undefined;
}

export interface BenchRun {
  readonly version: 1;
  readonly profile: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly elapsedMs: number;
  readonly host: {
    readonly cpus: number;
    readonly memoryMb: number;
    readonly node: string;
    readonly platform: string;
  };
  readonly sizes: Readonly<Record<string, unknown>>;
  readonly scenarios: readonly ScenarioResult[];
}

/** The row for a number measured against a target. */
export function checked(row: Omit<ResultRow, "met">, meets: (value: number) => boolean): ResultRow {
  return { ...row, met: row.value === null ? null : meets(row.value) };
}

export function ratioOf(value: number | null, peer: number | null | undefined): number | null {
  if (value === null || peer === null || peer === undefined || peer === 0) return null;
  return Math.round((value / peer) * 1000) / 1000;
}
