// What every scenario gets: its sizes, a scratch dir, a progress log, and which peers exist.
import type { BenchSizes } from "./profile.js";

export interface BenchContext {
  readonly sizes: BenchSizes;
  /** A scratch dir of this run; removed at the end. */
  readonly workDir: string;
  /** Progress lines on stderr (stdout carries the table). */
  readonly log: (line: string) => void;
  /** Why Slurm cannot be measured, or undefined when it can. */
  readonly slurmUnavailable: string | undefined;
  /** The PostgreSQL maintenance database URL, or why PostgreSQL cannot be used. */
  readonly postgres: { readonly url: string } | { readonly unavailable: string };
  /** A name unique to this run (Slurm job names, databases). */
  readonly runId: string;
}
