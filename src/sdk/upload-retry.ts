/**
 * Retries an input upload cut by a server that went away (crashed, restarted): the task is still
 * `pending-input` on the server, so sending the archive again completes it. An upload that did
 * arrive but whose answer was lost shows up as INPUT_ALREADY_UPLOADED: that is success.
 */
import { FlotillaError } from "../domain/errors.js";

/** About a minute of tries (250 ms doubling to 5 s), enough for a server restart. */
const MAX_ATTEMPTS = 16;

/** Runs `upload` until it succeeds or fails for a reason other than an unreachable server. */
export async function uploadWithRetry<T>(
  upload: () => Promise<T>,
  fetchTask: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let delayMs = 250;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await upload();
    } catch (error) {
      const code = error instanceof FlotillaError ? error.code : undefined;
      if (code === "INPUT_ALREADY_UPLOADED" && attempt > 1) return fetchTask();
      if (code !== "UNAVAILABLE" || attempt >= MAX_ATTEMPTS || signal?.aborted === true)
        throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 5_000);
    }
  }
}
