/**
 * The typed HTTP transport shared by the SDK, the CLI and the runner: bearer auth, JSON bodies,
 * streamed bodies, and the error envelope turned back into {@link FlotillaError}.
 */
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

  /** Sends a request; a non-2xx answer throws the server's {@link FlotillaError}. */
  async fetch(path: string, options: RequestOptions = {}): Promise<Response> {
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
      if (options.signal?.aborted === true) throw error;
      throw new FlotillaError(
        "UNAVAILABLE",
        `cannot reach the flotilla server at ${this.connection.url}: ${describeCause(error)}; start it with \`flotilla server start\` or set FLOTILLA_URL`,
        { cause: error },
      );
    }
    if (!response.ok) throw await toError(response);
    return response;
  }

  /** Sends a request and parses the JSON answer with `schema`. */
  async json<T>(schema: ZodType<T>, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.fetch(path, options);
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) {
      throw new FlotillaError(
        "INTERNAL",
        `the server at ${this.connection.url} answered ${path} with an unexpected body: ${parsed.error.message}; is it the same flotilla version?`,
      );
    }
    return parsed.data;
  }
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
  const text = await response.text().catch(() => "");
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
  const code =
    response.status === 401 ? "UNAUTHORIZED" : response.status === 404 ? "NOT_FOUND" : "INTERNAL";
  return new FlotillaError(code, `HTTP ${response.status} from the server: ${text.slice(0, 200)}`);
}
