import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { followText, type OpenedStream } from "../../src/cli/follow.js";

// A followed file, served by an `open` that breaks the connection after some bytes, as a
// restarting server or an idle proxy would.
function flakyFile(
  content: string,
  breakAfter: number[],
): {
  open: (offset: number | undefined) => Promise<OpenedStream>;
  opened: (number | undefined)[];
} {
  const bytes = Buffer.from(content);
  const opened: (number | undefined)[] = [];
  const head = Buffer.from("last line\n");
  return {
    opened,
    open: (offset) => {
      opened.push(offset);
      const start = offset ?? 0;
      const limit = breakAfter.shift();
      const body = Buffer.concat([
        offset === undefined ? head : Buffer.alloc(0),
        bytes.subarray(start),
      ]);
      let pulls = 0;
      // The bytes arrive first; the break comes with the next read.
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulls += 1;
          if (pulls === 1 && limit !== 0) controller.enqueue(body.subarray(0, limit));
          else if (limit === undefined) controller.close();
          else controller.error(new TypeError("terminated"));
        },
      });
      return Promise.resolve({
        body: stream,
        offset: start,
        headBytes: offset === undefined ? head.byteLength : 0,
      });
    },
  };
}

describe("following a text stream", () => {
  it("resumes a broken stream at the byte where it broke, without repeating the head", async () => {
    const file = flakyFile("one\ntwo\nthree\n", [13, 3]);
    let text = "";
    await followText({ open: file.open, write: (chunk) => (text += chunk) });
    assert.equal(text, "last line\none\ntwo\nthree\n");
    assert.deepEqual(file.opened, [undefined, 3, 6]);
  });

  it("gives up after the retries and rejects with the connection error", async () => {
    const file = flakyFile("x\n", [0, 0, 0]);
    await assert.rejects(
      followText({ open: file.open, write: () => undefined, maxRetries: 2 }),
      /terminated/,
    );
    assert.equal(file.opened.length, 3);
  });
});
