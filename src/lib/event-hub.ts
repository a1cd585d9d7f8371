// Keyed in-process publish/subscribe. Long polls (wait, claim, control) and streams (SSE, log
// follow) subscribe to a key and are woken by publishes, so nothing polls on a timer.

export interface EventHub<T> {
  publish(key: string, value: T): void;
  /** Calls `listener` for every value published on `key` until the returned function is called. */
  subscribe(key: string, listener: (value: T) => void): () => void;
  /** Number of listeners on a key (for tests and metrics). */
  listenerCount(key: string): number;
  /** The keys that have listeners now. */
  keys(): string[];
}

export function createEventHub<T>(): EventHub<T> {
  const listeners = new Map<string, Set<(value: T) => void>>();
  return {
    publish(key, value) {
      const set = listeners.get(key);
      if (set === undefined) return;
      for (const listener of [...set]) listener(value);
    },
    subscribe(key, listener) {
      let set = listeners.get(key);
      if (set === undefined) {
        set = new Set();
        listeners.set(key, set);
      }
      set.add(listener);
      return () => {
        const current = listeners.get(key);
        if (current === undefined) return;
        current.delete(listener);
        if (current.size === 0) listeners.delete(key);
      };
    },
    listenerCount(key) {
      return listeners.get(key)?.size ?? 0;
    },
    keys() {
      return [...listeners.keys()];
    },
  };
}

/**
 * Resolves with the first value `check` accepts: checked once at once (after subscribing, so no
 * publish is missed between the check and the wait), then on every publish on `key`. Resolves
 * `undefined` after `timeoutMs` or when `signal` aborts.
 */
export async function waitForEvent<T, R>(
  hub: EventHub<T>,
  key: string,
  check: () => Promise<R | undefined>,
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<R | undefined> {
  let wake: () => void = () => undefined;
  let woken = false;
  const unsubscribe = hub.subscribe(key, () => {
    woken = true;
    wake();
  });
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      woken = false;
      const result = await check();
      if (result !== undefined) return result;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || options.signal?.aborted === true) return undefined;
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const settle = (): void => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", settle);
          wake = () => undefined;
          resolve();
        };
        const timer = setTimeout(settle, remaining);
        options.signal?.addEventListener("abort", settle, { once: true });
        wake = settle;
      });
      wake = () => undefined;
    }
  } finally {
    unsubscribe();
  }
}
