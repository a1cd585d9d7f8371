// The SDK's HTTP transport against a real node:http server on 127.0.0.1 that answers as told:
// bodies in memory go through node:http on a keep-alive agent, streamed ones through fetch, and
// both turn failures into the same errors.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { FlotillaError } from "../../src/domain/errors.js";
import { HttpClient } from "../../src/sdk/http-client.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

type Handler = (request: Seen, response: ServerResponse) => void;

const Answer = z.object({ ok: z.boolean(), echo: z.string().optional() });

describe("HttpClient", () => {
  let server: Server;
  let url: string;
  let handler: Handler = (_request, response) => response.end();
  const seen: Seen[] = [];
  let connections = 0;

  before(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const entry = {
          method: request.method ?? "",
          url: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks),
        };
        seen.push(entry);
        handler(entry, response);
      });
    });
    server.on("connection", () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const json = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  };

  it("sends JSON with the bearer token and parses the answer, on one kept-alive connection", async () => {
    handler = (request, response) =>
      json(response, 200, { ok: true, echo: request.body.toString() });
    const client = new HttpClient({ url: `${url}/`, token: "s3cret" });
    const before = connections;
    seen.length = 0;
    for (let index = 0; index < 5; index += 1) {
      const answer = await client.json(Answer, "/things", {
        json: { index },
        query: { tag: ["a b", "c"], skip: undefined, n: 3 },
      });
      assert.deepEqual(answer, { ok: true, echo: JSON.stringify({ index }) });
    }
    assert.equal(connections - before, 1, "the five requests shared one connection");
    const first = seen[0] as Seen;
    assert.equal(first.method, "POST");
    assert.equal(first.url, "/api/v1/things?tag=a+b&tag=c&n=3");
    assert.equal(first.headers.authorization, "Bearer s3cret");
    assert.equal(first.headers["content-type"], "application/json");
    assert.equal(first.headers["content-length"], String(JSON.stringify({ index: 0 }).length));
  });

  it("sends bytes as they are, and a streamed body through fetch", async () => {
    handler = (request, response) =>
      json(response, 200, { ok: true, echo: request.body.toString("hex") });
    const client = new HttpClient({ url });
    const bytes = Uint8Array.from([0, 1, 2, 254, 255]);
    const sent = await client.json(Answer, "/bytes", { method: "PUT", body: bytes });
    assert.equal(sent.echo, "000102feff");
    assert.equal(seen.at(-1)?.headers["content-type"], "application/octet-stream");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Uint8Array.from([7, 8]));
        controller.enqueue(Uint8Array.from([9]));
        controller.close();
      },
    });
    const streamed = await client.json(Answer, "/stream", {
      method: "PUT",
      body: stream,
      contentType: "application/x-tar",
    });
    assert.equal(streamed.echo, "070809");
    assert.equal(seen.at(-1)?.headers["content-type"], "application/x-tar");
  });

  it("turns the server's error envelope into its FlotillaError, and a bare 404 into NOT_FOUND", async () => {
    const client = new HttpClient({ url });
    handler = (_request, response) =>
      json(response, 409, { error: { code: "TASK_ALREADY_FINISHED", message: "already ended" } });
    await assert.rejects(client.json(Answer, "/x"), (error: unknown) => {
      assert.ok(error instanceof FlotillaError);
      assert.equal(error.code, "TASK_ALREADY_FINISHED");
      assert.equal(error.message, "already ended");
      return true;
    });
    handler = (_request, response) => {
      response.writeHead(404);
      response.end("no such page");
    };
    await assert.rejects(client.send("/x"), {
      code: "NOT_FOUND",
      message: /HTTP 404.*no such page/,
    });
  });

  it("says so when the answer is not JSON or not the expected shape", async () => {
    const client = new HttpClient({ url });
    handler = (_request, response) => response.end("<html>proxy</html>");
    await assert.rejects(client.json(Answer, "/x"), {
      code: "INTERNAL",
      message: /not JSON: <html>proxy/,
    });
    handler = (_request, response) => json(response, 200, { ok: "yes" });
    await assert.rejects(client.json(Answer, "/x"), {
      code: "INTERNAL",
      message: /unexpected body/,
    });
  });

  it("answers an empty body with an empty text (204)", async () => {
    handler = (_request, response) => {
      response.writeHead(204);
      response.end();
    };
    assert.equal(await new HttpClient({ url }).send("/claim", { method: "POST", json: {} }), "");
  });

  it("is UNAVAILABLE when the connection is cut before the answer ends", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      response.write('{"ok":');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    await assert.rejects(new HttpClient({ url }).json(Answer, "/x"), {
      code: "UNAVAILABLE",
      message: /cannot reach the flotilla server/,
    });
  });

  it("sends a GET again on a new connection when a kept-alive one is closed as it is reused, never a POST", async () => {
    // As a server does that closes an idle connection just when the client reuses it: the
    // second request on each connection gets no answer, the connection is closed.
    const served = new WeakMap<object, number>();
    const attempts: string[] = [];
    const closing = createServer((request, response) => {
      const socket = request.socket;
      const count = (served.get(socket) ?? 0) + 1;
      served.set(socket, count);
      request.resume();
      attempts.push(`${request.method} ${request.url} #${count}`);
      if (count > 1) socket.destroy();
      else json(response, 200, { ok: true });
    });
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    try {
      const client = new HttpClient({
        url: `http://127.0.0.1:${(closing.address() as AddressInfo).port}`,
      });
      assert.deepEqual(await client.json(Answer, "/a"), { ok: true });
      assert.deepEqual(await client.json(Answer, "/b"), { ok: true });
      assert.deepEqual(attempts, ["GET /api/v1/a #1", "GET /api/v1/b #2", "GET /api/v1/b #1"]);
      attempts.length = 0;
      await assert.rejects(client.json(Answer, "/c", { json: {} }), {
        code: "UNAVAILABLE",
        message: /socket hang up/,
      });
      assert.deepEqual(attempts, ["POST /api/v1/c #2"], "a POST is not sent twice");
    } finally {
      closing.closeAllConnections();
      await new Promise((resolve) => closing.close(resolve));
    }
  });

  it("is UNAVAILABLE, naming the server, when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(new HttpClient({ url: `http://127.0.0.1:${port}` }).send("/x"), {
      code: "UNAVAILABLE",
      message: new RegExp(
        `cannot reach the flotilla server at http://127.0.0.1:${port}: .*ECONNREFUSED`,
      ),
    });
  });

  it("rejects with the signal's reason when aborted, and the server sees the request go", async () => {
    let closedByClient: Promise<void> = Promise.resolve();
    handler = (request, response) => {
      closedByClient = new Promise((resolve) => response.once("close", () => resolve()));
      void request;
    };
    const controller = new AbortController();
    const pending = new HttpClient({ url }).send("/slow", { signal: controller.signal });
    while (seen.at(-1)?.url !== "/api/v1/slow") await new Promise((r) => setTimeout(r, 5));
    const reason = new Error("stopped by the test");
    controller.abort(reason);
    await assert.rejects(pending, (error: unknown) => error === reason);
    await closedByClient;
  });
});
