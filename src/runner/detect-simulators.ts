// What this machine can run, reported at register so `flotilla simulators list` can show it.
import { availableParallelism, totalmem } from "node:os";

/**
 * Simulators found on this host, name → version.
 *
 * TO WIRE: src/simulators (recipe.ts, custom.ts) does not exist yet. Once it does, loop over its
 * recipes here and ask each for its version (binary on PATH, or container image). Until then this
 * reports the built-in `custom` simulator and the Node version the runner runs on.
 */
export function detectSimulators(): Promise<Record<string, string>> {
  return Promise.resolve({ custom: "builtin", node: process.version });
}

/** CPU count and memory of this host, as register reports them. */
export function describeHost(): { cpus: number; memoryBytes: number } {
  return { cpus: availableParallelism(), memoryBytes: totalmem() };
}
