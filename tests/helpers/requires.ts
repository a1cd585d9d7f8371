// Suites that need something outside the project (a service, a cluster, a simulator): when it is
// missing, the suite is skipped with the reason on stderr, or, with CI=true, fails (.ci/run
// provides everything, so there a missing part is a broken CI, not a reason to skip).
import { describe, it } from "node:test";

/**
 * Registers `register` as the suite `name` when `unavailable` is undefined; otherwise a loud skip
 * (locally) or a failing test (CI=true) that says what `what` is missing and why.
 */
export function describeRequiring(
  name: string,
  what: string,
  unavailable: string | undefined,
  register: () => void,
): void {
  if (unavailable === undefined) {
    describe(name, register);
    return;
  }
  if (process.env.CI === "true") {
    describe(name, () => {
      it(`needs ${what} (CI=true: a missing ${what} is a failure)`, () => {
        throw new Error(unavailable);
      });
    });
    return;
  }
  process.stderr.write(`\n*** SKIPPED ${name}: ${unavailable}\n\n`);
  describe(name, () => {
    it(`needs ${what}`, { skip: unavailable }, () => undefined);
  });
}
