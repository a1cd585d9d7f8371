import assert from "node:assert/strict";
import { it } from "node:test";
import { cancelOnInterrupt, noticeOnInterrupt } from "../../src/sdk/interrupt-notice.js";

it("many runs and waits in progress at once share one SIGINT listener each, removed at the end", () => {
  const before = process.listenerCount("SIGINT");
  const uninstall = [
    ...Array.from({ length: 40 }, () => cancelOnInterrupt(() => Promise.resolve(undefined))),
    ...Array.from({ length: 40 }, (_, i) => noticeOnInterrupt({ id: `t${i}`, machineGroup: "g" })),
  ];
  assert.equal(process.listenerCount("SIGINT"), before + 2, "one for runs, one for waits");
  for (const off of uninstall) off();
  assert.equal(process.listenerCount("SIGINT"), before);
});
