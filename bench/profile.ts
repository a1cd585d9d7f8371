// Sizes of each scenario per profile: `full` is the (scaled where noted in README.md),
// `quick` a short run for development, `smoke` the tiny run of the test suite.

export interface BenchSizes {
  readonly throughputTasks: number;
  readonly throughputMachines: readonly number[];
  /** Slurm runs fewer jobs (about 1 s each on the dev cluster); compared as rates. */
  readonly slurmThroughputJobs: number;
  readonly dispatchTasks: number;
  readonly slurmDispatchJobs: number;
  /** How long Slurm may take for all its jobs of a scenario before its column is skipped (busy node). */
  readonly slurmWaitMs: number;
  readonly submitTasks: number;
  readonly submitConcurrency: number;
  readonly outputFiles: number;
  readonly outputFileBytes: number;
  readonly listingTasks: number;
  readonly listingSamples: number;
  readonly memoryQueuedTasks: number;
  readonly memoryRunners: number;
}

export const PROFILES: Readonly<Record<string, BenchSizes>> = {
  full: {
    throughputTasks: 1000,
    throughputMachines: [2, 4],
    slurmThroughputJobs: 100,
    dispatchTasks: 200,
    slurmDispatchJobs: 20,
    slurmWaitMs: 15 * 60_000,
    submitTasks: 10_000,
    submitConcurrency: 8,
    outputFiles: 1000,
    outputFileBytes: 1024 * 1024,
    listingTasks: 1_000_000,
    listingSamples: 200,
    memoryQueuedTasks: 100_000,
    memoryRunners: 4,
  },
  quick: {
    throughputTasks: 200,
    throughputMachines: [2, 4],
    slurmThroughputJobs: 20,
    dispatchTasks: 50,
    slurmDispatchJobs: 5,
    slurmWaitMs: 5 * 60_000,
    submitTasks: 1000,
    submitConcurrency: 8,
    outputFiles: 100,
    outputFileBytes: 1024 * 1024,
    listingTasks: 100_000,
    listingSamples: 50,
    memoryQueuedTasks: 20_000,
    memoryRunners: 4,
  },
  smoke: {
    throughputTasks: 8,
    throughputMachines: [2],
    slurmThroughputJobs: 2,
    dispatchTasks: 4,
    slurmDispatchJobs: 1,
    slurmWaitMs: 20_000,
    submitTasks: 20,
    submitConcurrency: 4,
    outputFiles: 4,
    outputFileBytes: 64 * 1024,
    listingTasks: 2000,
    listingSamples: 5,
    memoryQueuedTasks: 200,
    memoryRunners: 2,
  },
};
