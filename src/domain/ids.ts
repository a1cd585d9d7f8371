// Short, URL-safe, sortable ids: 9 base36 chars of milliseconds since the epoch, then 6 random.
// Lexicographic order is creation order (to the millisecond; random within one millisecond).

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
const TIME_LENGTH = 9;
const RANDOM_LENGTH = 6;
export const ID_PATTERN = /^[0-9a-z]{15}$/;

export function createId(nowMs: number = Date.now()): string {
  const time = Math.floor(nowMs).toString(36).padStart(TIME_LENGTH, "0");
  const bytes = new Uint8Array(RANDOM_LENGTH);
  globalThis.crypto.getRandomValues(bytes);
  let random = "";
  for (const byte of bytes) random += ALPHABET[byte % 36];
  return time + random;
}

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** A random secret of `bytes` bytes, hex encoded (tokens). */
export function createSecret(bytes = 32): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
}
