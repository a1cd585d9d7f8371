// Property-based fuzzing of every route over real HTTP: malformed JSON, wrong types, huge and
// unicode strings, bad ids, cursors, query params and headers, as every kind of caller. The
// properties: never a 5xx, every error is the envelope with a stable code, a rejected request
// changes nothing in the store or the blob dir, and /healthz keeps answering.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ERROR_CODES } from "../../src/domain/errors.js";
import { openFuzzFixture, type FuzzFixture, type PrincipalName } from "../helpers/fuzz-fixture.js";

const RUNS_PER_ROUTE = Number(process.env.FLOTILLA_FUZZ_RUNS ?? "60");
/** Routes that may hold a request open (long polls, streams): a client-side timeout is fine. */
const LONG_POLLS = new Set(["/wait", "/claim", "/control", "/events", "/logs", "/tail"]);

const WEIRD_SEGMENTS = [
  "%",
  "%zz",
  "%E0%A4%A",
  "%00",
  "..",
  "%2e%2e",
  "%2F",
  "%C0%AF",
  "%F0%9F%92%A9",
  "null",
  "-1",
  "000000000000000",
  "a".repeat(2000),
  "\u00e9t\u00e9",
];
const WEIRD_VALUES = ["", "0", "-1", "1e400", "NaN", "Infinity", "99999999999999999999", "%zz"];
const QUERY_KEYS = [
  "status",
  "project",
  "machineGroup",
  "limit",
  "cursor",
  "timeoutMs",
  "waitMs",
  "machineId",
  "stream",
  "follow",
  "offset",
  "lines",
  "path",
  "files",
];

function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80"; // a lone surrogate, as UTF-8 bytes
  }
}

const shortText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constant("\u202e\u0000\ufeff"),
);
/** Bodies may also be huge; paths and queries stay under Node's 16 KiB header limit mostly. */
const anyText = fc.oneof(
  { weight: 5, arbitrary: shortText },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 10_000, maxLength: 40_000 }) },
);

interface FuzzRequest {
  principal: PrincipalName;
  path: string;
  query: string;
  body: string | Uint8Array | undefined;
  contentType: string | undefined;
}

function requestArbitrary(
  fixture: FuzzFixture,
  route: { method: string; path: string },
): fc.Arbitrary<FuzzRequest> {
  const { ids } = fixture;
  const knownFor = (param: string): string[] => {
    if (param === "id" && route.path.startsWith("/api/v1/users")) return [...ids.userIds, "nobody"];
    if (param === "id") return [...ids.aliceTasks, ids.bobTask, "000000000000000"];
    if (param === "name") return [...ids.groups, "nope"];
    return ["0", "nope"];
  };
  const segment = (param: string): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...knownFor(param)) },
      { weight: 2, arbitrary: fc.constantFrom(...WEIRD_SEGMENTS) },
      { weight: 2, arbitrary: shortText.filter((text) => text.length > 0).map(encode) },
    );
  const params = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1] ?? "");
  const path = fc.tuple(...params.map((param) => segment(param))).map((values) => {
    let result = route.path;
    params.forEach((param, index) => (result = result.replace(`:${param}`, values[index] ?? "")));
    return result;
  });
  // Small numbers for the long-poll keys keep the run fast; other values are anything.
  const value = fc.oneof(
    fc.constantFrom(...WEIRD_VALUES, ids.machineId, "stdout", "1", "in-queue", "ga"),
    fc.integer({ min: -5, max: 50 }).map(String),
    shortText.map(encode),
  );
  const validQuery = route.path.includes("/runner/")
    ? `machineId=${route.path.includes("control") ? "m-fuzz-2" : ids.machineId}&stream=stdout`
    : "";
  const randomPairs = fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), shortText.map(encode)), value), {
      maxLength: 4,
    })
    .map((pairs) => pairs.map(([key, v]) => `${key}=${v}`).join("&"));
  const query = fc.oneof(
    fc.constant(validQuery),
    randomPairs.map((pairs) => (validQuery === "" ? pairs : `${validQuery}&${pairs}`)),
    randomPairs,
  );
  const template = validBodyFor(route, fixture);
  const mutated = fc
    .tuple(fc.constantFrom(...Object.keys(template), "extra"), fc.jsonValue(), fc.boolean())
    .map(([key, replacement, drop]) => {
      const copy: Record<string, unknown> = { ...template };
      if (drop) delete copy[key];
      else copy[key] = replacement;
      return JSON.stringify(copy);
    });
  const body = fc.oneof(
    fc.constant(undefined),
    fc.constant(JSON.stringify(template)),
    mutated,
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.nat({ max: 40 }).map((cut) => JSON.stringify(template).slice(0, cut)),
    anyText,
    fc.uint8Array({ maxLength: 2048 }),
  );
  return fc.record({
    principal: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom<PrincipalName>("admin", "alice", "runner") },
      { weight: 1, arbitrary: fc.constantFrom<PrincipalName>("bob", "none", "garbage") },
    ),
    path,
    query,
    body,
    contentType: fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "text/plain",
      "application/gzip",
      undefined,
    ),
  });
}

/** A plausible body for the route, so that mutations test one field at a time. */
function validBodyFor(
  route: { method: string; path: string },
  { ids }: FuzzFixture,
): Record<string, unknown> {
  const machineId = route.path.includes("control") ? "m-fuzz-2" : ids.machineId;
  if (route.path === "/api/v1/tasks")
    return { simulator: "custom", commands: [["true"]], machineGroup: "ga" };
  if (route.path === "/api/v1/machine-groups") return { name: "fz", numMachines: 1 };
  if (route.path === "/api/v1/users") return { name: "carol" };
  if (route.path.endsWith("/register")) return { machineGroup: "ga", host: "h" };
  if (route.path.endsWith("/claim")) return { machineId, waitMs: 0 };
  if (route.path.endsWith("/started")) return { machineId, inputDownloadMs: 1 };
  if (route.path.endsWith("/heartbeat")) return { machineId, taskId: ids.aliceTasks[1] };
  if (route.path.endsWith("/finish")) return { machineId, outcome: "exited", exitCode: 0 };
  if (route.path.endsWith("/reply")) return { machineId, ok: true, result: [] };
  return { machineId };
}

interface Outcome {
  status: number;
  timedOut: boolean;
}

async function send(fixture: FuzzFixture, method: string, request: FuzzRequest): Promise<Outcome> {
  const headers: Record<string, string> = {};
  const token = fixture.tokens[request.principal];
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (request.contentType !== undefined) headers["content-type"] = request.contentType;
  const longPoll = [...LONG_POLLS].some((part) => request.path.includes(part));
  const url = `${fixture.url}${request.path}${request.query === "" ? "" : `?${request.query}`}`;
  const hasBody = method !== "GET" && method !== "HEAD" && request.body !== undefined;
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: hasBody ? request.body : null,
      signal: AbortSignal.timeout(longPoll ? 300 : 20_000),
    });
    const type = response.headers.get("content-type") ?? "";
    if (response.status === 431) {
      // Node's HTTP parser refuses a request line + headers over 16 KiB before the app sees it.
      await response.body?.cancel();
    } else if (response.status >= 400) {
      const envelope = (await response.json()) as { error?: { code?: string; message?: string } };
      assert.ok(
        (ERROR_CODES as readonly string[]).includes(envelope.error?.code ?? ""),
        `error envelope with a known code, got ${JSON.stringify(envelope)}`,
      );
      assert.ok((envelope.error?.message ?? "").length > 0, "an error says what to do");
    } else if (type.includes("json")) {
      await response.json();
    } else {
      await response.body?.cancel();
    }
    return { status: response.status, timedOut: false };
  } catch (error) {
    if (longPoll && error instanceof DOMException && error.name === "TimeoutError")
      return { status: 0, timedOut: true };
    throw error;
  }
}

describe("fuzzing every route: no 5xx, stable error codes, nothing half-created", () => {
  let fixture: FuzzFixture;
  let tried = 0;
  const statuses = new Map<number, number>();
  const stopResponder = new AbortController();
  let responder: Promise<void> = Promise.resolve();
  before(async () => {
    fixture = await openFuzzFixture();
    responder = answerIntrospection(fixture, stopResponder.signal);
  });
  after(async () => {
    stopResponder.abort();
    await responder;
    await fixture.close();
    const summary = [...statuses.entries()].sort(([a], [b]) => a - b);
    console.log(`fuzz: ${tried} requests; statuses ${JSON.stringify(summary)}`);
  });

  it("the fuzzer covers every route the app serves", () => {
    assert.ok(fixture.routes.length >= 30, `found ${fixture.routes.length} routes`);
  });

  it("every route answers malformed requests with a 4xx envelope and creates nothing", async () => {
    for (const route of fixture.routes) {
      const result = await fc.check(
        fc.asyncProperty(requestArbitrary(fixture, route), async (request) => {
          const before = await fixture.snapshot();
          const outcome = await send(fixture, route.method, request);
          tried += 1;
          statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
          assert.ok(outcome.status < 500, `${route.method} ${request.path}: ${outcome.status}`);
          if (outcome.status >= 400 && !isAllowedSideEffect(route, outcome.status)) {
            assert.ok((await fixture.snapshot()) === before, "a rejected request changed nothing");
          }
        }),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
      if (result.failed) assert.fail(describeFailure(route, result));
      const health = await fetch(`${fixture.url}/healthz`);
      assert.equal(health.status, 200, `healthy after fuzzing ${route.method} ${route.path}`);
    }
  });
});

/** The failing request, long strings cut, so that the report stays readable. */
function describeFailure(
  route: { method: string; path: string },
  result: fc.RunDetails<[FuzzRequest]>,
): string {
  const cut = (value: unknown): string => {
    const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "undefined");
    return text.length > 200 ? `${text.slice(0, 200)}... (${text.length} chars)` : text;
  };
  const request = result.counterexample?.[0];
  const error = result.errorInstance instanceof Error ? result.errorInstance.message : "";
  return [
    `${route.method} ${route.path} failed (seed ${result.seed}): ${cut(error)}`,
    `  as ${request?.principal}: ${cut(request?.path)}?${cut(request?.query)}`,
    `  content-type ${request?.contentType}, body ${cut(request?.body)}`,
  ].join("\n");
}

/** A rejected input ends its task failed (documented); a timed-out relay changes nothing. */
function isAllowedSideEffect(route: { method: string; path: string }, status: number): boolean {
  return route.path.endsWith("/input") && route.method === "PUT" && status === 422;
}

/** Plays the control side of the fixture's machine so that introspection routes answer. */
async function answerIntrospection(fixture: FuzzFixture, signal: AbortSignal): Promise<void> {
  const { machineId } = fixture.ids;
  const headers = {
    authorization: `Bearer ${fixture.tokens.runner ?? ""}`,
    "content-type": "application/json",
  };
  while (!signal.aborted) {
    const response = await fetch(
      `${fixture.url}/api/v1/runner/control?machineId=${machineId}&waitMs=500`,
      { headers, signal },
    ).catch(() => undefined);
    if (response === undefined) return;
    const { messages } = (await response.json()) as { messages: { requestId: string }[] };
    for (const message of messages) {
      await fetch(`${fixture.url}/api/v1/runner/control/${message.requestId}/reply`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          machineId,
          ok: false,
          error: { code: "FILE_NOT_FOUND", message: "no such file in the task's directory" },
        }),
      });
    }
  }
}
