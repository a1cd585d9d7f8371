// The server keeps idle connections 65 s and says so, so that clients (which close theirs after
// 4 s) never reuse one the server is closing; and an idle connection does not hold up a stop.
import assert from "node:assert/strict";
import { Agent, get, type IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { startRealServer } from "../helpers/real-server.js";

describe("server keep-alive", () => {
  it("announces a 65 s keep-alive and stops without waiting for an idle connection", async () => {
    const server = await startRealServer();
    const agent = new Agent({ keepAlive: true });
    try {
      const answer = await new Promise<IncomingMessage>((resolve, reject) =>
        get(`${server.url}/healthz`, { agent }, resolve).on("error", reject),
      );
      answer.resume();
      await new Promise((resolve) => answer.once("end", resolve));
      assert.equal(answer.headers.connection, "keep-alive");
      assert.equal(answer.headers["keep-alive"], "timeout=65");
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(Object.values(agent.freeSockets).flat().length, 1, "the connection is idle");

      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        server.close().then(() => "stopped"),
        new Promise((resolve) => (timer = setTimeout(() => resolve("still waiting"), 10_000))),
      ]);
      clearTimeout(timer);
      assert.equal(outcome, "stopped");
    } finally {
      agent.destroy();
      await server.close();
    }
  });
});
