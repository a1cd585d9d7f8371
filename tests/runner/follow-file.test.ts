import assert from "node:assert/strict";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { completeUtf8Length, readAppended } from "../../src/runner/follow-file.js";
import { withTempDir } from "./helpers.js";

describe("following a file on the machine", () => {
  it("answers as soon as the file grows, long before the wait is over", async () => {
    await withTempDir(async (root) => {
      const file = join(root, "solver.log");
      await writeFile(file, "one\n");
      const started = Date.now();
      const pending = readAppended(file, "solver.log", 4, 10_000);
      setTimeout(() => void appendFile(file, "two\n"), 50);
      const chunk = await pending;
      assert.deepEqual(chunk, {
        path: "solver.log",
        offset: 4,
        nextOffset: 8,
        text: "two\n",
        truncated: false,
      });
      assert.ok(Date.now() - started < 2_000, `answered after ${Date.now() - started} ms`);
    });
  });

  it("answers empty after the wait when nothing was written, and at once when there is more", async () => {
    await withTempDir(async (root) => {
      const file = join(root, "quiet.log");
      await writeFile(file, "abc");
      const quiet = await readAppended(file, "quiet.log", 3, 150);
      assert.equal(quiet.text, "");
      assert.equal(quiet.nextOffset, 3);
      const started = Date.now();
      const more = await readAppended(file, "quiet.log", 1, 10_000);
      assert.equal(more.text, "bc");
      assert.ok(Date.now() - started < 1_000);
    });
  });

  it("starts again from the beginning of a file that was rewritten shorter", async () => {
    await withTempDir(async (root) => {
      const file = join(root, "state.txt");
      await writeFile(file, "new\n");
      const chunk = await readAppended(file, "state.txt", 100, 0);
      assert.deepEqual([chunk.truncated, chunk.offset, chunk.text], [true, 0, "new\n"]);
    });
  });

  it("never splits a UTF-8 character between two answers", async () => {
    const euro = Buffer.from("a€", "utf8"); // 61 e2 82 ac
    assert.equal(completeUtf8Length(euro), 4);
    assert.equal(completeUtf8Length(euro.subarray(0, 3)), 1);
    assert.equal(completeUtf8Length(euro.subarray(0, 2)), 1);
    await withTempDir(async (root) => {
      const file = join(root, "utf8.txt");
      await writeFile(file, euro.subarray(0, 3));
      const chunk = await readAppended(file, "utf8.txt", 0, 0);
      assert.deepEqual([chunk.text, chunk.nextOffset], ["a", 1]);
    });
  });

  it("refuses a binary file", async () => {
    await withTempDir(async (root) => {
      const file = join(root, "data.bin");
      await writeFile(file, Buffer.from([1, 0, 2]));
      await assert.rejects(readAppended(file, "data.bin", 0, 0), /not a text file/);
    });
  });
});
