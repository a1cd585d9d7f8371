// Exponential backoff for talking to a server that may restart or be briefly unreachable.
// Only retries wait; the normal path never sleeps (claims and control are long polls).
import { FlotillaError } from "../domain/errors.js";

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

export interface Backoff {
  /** The next delay (doubling from `initialMs` up to `maxMs`, with ±20% jitter). */
  nextDelayMs(): number;
  reset(): void;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 200;
  const maxMs = options.maxMs ?? 5_000;
  let current = initialMs;
  return {
    nextDelayMs() {
      // Jitter keeps the machines of a group from retrying in lockstep after a server restart.
      const delay = Math.round(current * (0.8 + Math.random() * 0.4));
      current = Math.min(current * 2, maxMs);
      return Math.min(delay, maxMs);
    },
    reset() {
      current = initialMs;
    },
  };
}

/** Waits `ms`, or less if `signal` aborts (it never rejects). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Errors worth retrying: the server unreachable or failing, not a refusal it meant. */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof FlotillaError)) return true;
  return error.code === "UNAVAILABLE" || error.code === "INTERNAL" || error.code === "STORAGE_FULL";
}

export interface RetryOptions extends BackoffOptions {
  /** Tries in all (the first one included). */
  readonly attempts: number;
  readonly signal?: AbortSignal | undefined;
  readonly isRetryable?: (error: unknown) => boolean;
  readonly onRetry?: (error: unknown, delayMs: number) => void;
}

/** Runs `action` until it succeeds, a non-retryable error, `attempts` tries, or an abort. */
export async function retry<T>(action: () => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = createBackoff(options);
  const isRetryable = options.isRetryable ?? isTransientError;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await action();
    } catch (error) {
      const aborted = options.signal?.aborted === true;
      if (aborted || attempt >= options.attempts || !isRetryable(error)) throw error;
      const delayMs = backoff.nextDelayMs();
      options.onRetry?.(error, delayMs);
      await pause(delayMs, options.signal);
    }
  }
}
