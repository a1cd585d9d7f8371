/**
 * The typed HTTP transport shared by the SDK, the CLI and the runner: bearer auth, JSON bodies,
 * streamed bodies, and the error envelope turned back into {@link FlotillaError}.
 *
 * Requests whose body is in memory (JSON, bytes, none) and whose answer is read whole go through
 * node:http on a keep-alive agent; streamed bodies and streamed answers go through fetch. Measured
 * on a 2-core machine, warm, a small request cost the client ~0.3-0.5 ms of CPU with fetch (WHATWG
 * streams, its wasm parser) against ~0.09 ms with node:http, and the server 0.08-0.16 against
 * 0.05-0.09 ms: these are the calls every task makes (create, wait, finish). Reading a big answer
 * through node:http instead of fetch was measured slower (downloads of outputs), so streams stay.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { ZodType } from "zod";
import { FlotillaError, isErrorCode } from "../domain/errors.js";
import { API_PREFIX, ErrorEnvelope } from "../protocol/common.js";

/** Where a server is and how to authenticate with it. */
export interface ServerConnection {
  /** Base URL, e.g. `http://127.0.0.1:7878`. */
  readonly url: string;
  /** Bearer token. */
  readonly token?: string | undefined;
}

/** Options of one request. */
export interface RequestOptions {
  readonly method?: string;
  /** Query parameters; arrays repeat the key, undefined values are left out. */
  readonly query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  /** JSON body. */
  readonly json?: unknown;
  /** Raw body (a stream or bytes), sent as application/octet-stream unless `contentType`. */
  readonly body?: NonNullable<RequestInit["body"]>;
  readonly contentType?: string;
  readonly signal?: AbortSignal | undefined;
  readonly headers?: Record<string, string>;
}

/** A small fetch wrapper bound to one server. */
export class HttpClient {
  readonly connection: ServerConnection;

  constructor(connection: ServerConnection) {
    this.connection = { ...connection, url: connection.url.replace(/\/+$/, "") };
  }

  /** The absolute URL of an API path (`/tasks/x` → `<url>/api/v1/tasks/x`). */
  urlFor(path: string, query?: RequestOptions["query"]): string {
    const url = new URL(this.connection.url + API_PREFIX + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value))
        for (const item of value) url.searchParams.append(key, String(item));
      else url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /**
   * Sends a request and returns its answer as a stream; a non-2xx answer throws the server's
   * {@link FlotillaError}. Use {@link json} or {@link send} when the answer is small.
   */
  async fetch(path: string, options: RequestOptions = {}): Promise<Response> {
    const { headers, body } = this.#prepare(options);
    const init: RequestInit & { duplex?: "half" } = {
      method: options.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      body,
      signal: options.signal ?? null,
    };
    if (body instanceof ReadableStream) init.duplex = "half";
    let response: Response;
    try {
      response = await fetch(this.urlFor(path, options.query), init);
    } catch (error) {
      throw this.#unreachable(error, options.signal);
    }
    if (!response.ok) throw await toError(response);
    return response;
  }

  /** Sends a request and parses the JSON answer with `schema`. */
  async json<T>(schema: ZodType<T>, path: string, options: RequestOptions = {}): Promise<T> {
    const text = await this.send(path, options);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new FlotillaError(
        "INTERNAL",
        `the server at ${this.connection.url} answered ${path} with a body that is not JSON: ${text.slice(0, 200)}; is it a flotilla server?`,
      );
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new FlotillaError(
        "INTERNAL",
        `the server at ${this.connection.url} answered ${path} with an unexpected body: ${parsed.error.message}; is it the same flotilla version?`,
      );
    }
    return parsed.data;
  }

  /**
   * Sends a request and resolves with the whole answer's text; a non-2xx answer throws the
   * server's {@link FlotillaError}. A streamed body goes through fetch.
   */
  async send(path: string, options: RequestOptions = {}): Promise<string> {
    const { headers, body } = this.#prepare(options);
    if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
      return (await this.fetch(path, options)).text();
    }
    const method = options.method ?? (body === undefined ? "GET" : "POST");
    const url = this.urlFor(path, options.query);
    const once = (): Promise<{ status: number; text: string }> =>
      requestWhole(url, { method, headers, body, signal: options.signal });
    let answer: { status: number; text: string };
    try {
      answer = await once().catch((error: unknown) => {
        // A kept-alive connection the server closed as idle just as it was reused: the server did
        // not act on the request. Sent again on a new connection when repeating it is harmless
        // (a POST is not: a server that died while answering would get it twice).
        if (error instanceof StaleConnectionError && IDEMPOTENT.has(method)) return once();
        throw error;
      });
    } catch (error) {
      throw this.#unreachable(error, options.signal);
    }
    if (answer.status < 200 || answer.status > 299) throw errorFrom(answer.status, answer.text);
    return answer.text;
  }

  #prepare(options: RequestOptions): {
    headers: Record<string, string>;
    body: RequestInit["body"] | undefined;
  } {
    const headers: Record<string, string> = { ...options.headers };
    if (this.connection.token !== undefined)
      headers.authorization = `Bearer ${this.connection.token}`;
    let body: RequestInit["body"] | undefined = options.body;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/octet-stream";
    }
    return { headers, body };
  }

  /** An aborted request rejects with the signal's reason; any other failure is UNAVAILABLE. */
  #unreachable(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return signal.reason ?? error;
    return new FlotillaError(
      "UNAVAILABLE",
      `cannot reach the flotilla server at ${this.connection.url}: ${describeCause(error)}; start it with \`flotilla server start\` or set FLOTILLA_URL`,
      { cause: error },
    );
  }
}

// Idle sockets of these agents do not keep a process alive (Node unrefs them). An idle socket is
// closed after 4 s, or at the server's own Keep-Alive hint when that is sooner (the agent reads
// the hint only when it has a timeout; our server says 65 s): a request on a socket the server is
// closing would fail. The timeout does not cut a request in progress (long polls last longer).
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000 };
const httpAgent = new HttpAgent(AGENT_OPTIONS);
const httpsAgent = new HttpsAgent(AGENT_OPTIONS);

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE"]);

/** The connection was reused and closed before any answer: see `request.reusedSocket`. */
class StaleConnectionError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
    this.name = "StaleConnectionError";
  }
}

/** One request with a body in memory, its answer read whole (any status). */
function requestWhole(
  url: string,
  options: {
    method: string;
    headers: Record<string, string>;
    body: string | Uint8Array | undefined;
    signal: AbortSignal | undefined;
  },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const { body } = options;
    const headers =
      body === undefined
        ? options.headers
        : { ...options.headers, "content-length": String(Buffer.byteLength(body)) };
    const secure = url.startsWith("https:");
    const onAnswer = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("close", () => {
        // Cut before its end (the server went away, or the signal aborted): not an answer.
        if (!response.complete) reject(new Error("the connection closed before the answer ended"));
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
    };
    const request = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: options.method,
        headers,
        agent: secure ? httpsAgent : httpAgent,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      onAnswer,
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      const stale = request.reusedSocket && error.code === "ECONNRESET";
      reject(stale ? new StaleConnectionError(error) : error);
    });
    request.end(body);
  });
}

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) return cause.message;
    return error.message;
  }
  return String(error);
}

/** Turns a non-2xx response into the FlotillaError the server described. */
export async function toError(response: Response): Promise<FlotillaError> {
  return errorFrom(response.status, await response.text().catch(() => ""));
}

function errorFrom(status: number, text: string): FlotillaError {
  try {
    const envelope = ErrorEnvelope.safeParse(JSON.parse(text));
    if (envelope.success) {
      const { code, message, details } = envelope.data.error;
      return new FlotillaError(
        isErrorCode(code) ? code : "INTERNAL",
        message,
        details === undefined ? undefined : { details },
      );
    }
  } catch {
    // not JSON: fall through
  }
  const code = status === 401 ? "UNAUTHORIZED" : status === 404 ? "NOT_FOUND" : "INTERNAL";
  return new FlotillaError(code, `HTTP ${status} from the server: ${text.slice(0, 200)}`);
}
