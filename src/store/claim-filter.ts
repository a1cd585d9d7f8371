// The part of a claim both store adapters share: whether the head of a group's queue is the
// claiming machine's to take, and which simulators to look for behind it when it is not.
import type { ClaimFilter } from "./task-store.js";

/**
 * Undefined: take the head of the queue. Otherwise the simulators to look for, each's first
 * queued task a candidate, the earliest of them taken (none: the machine takes nothing).
 */
export function simulatorsBehindHead(
  headSimulator: string,
  filter: ClaimFilter | undefined,
): readonly string[] | undefined {
  if (filter === undefined) return undefined;
  if (filter.simulators.includes(headSimulator)) return undefined;
  if (!filter.groupSimulators.includes(headSimulator)) return undefined;
  return filter.simulators;
}
