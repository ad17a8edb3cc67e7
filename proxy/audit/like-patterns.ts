// Text matching shared by both stores' session filters (sqlite/ and postgres/session-filters.ts).

/** A LIKE pattern (ESCAPE '\') matching any text that contains `text` literally, its %, _ and \ included. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`;
}

/**
 * `text` as it appears inside a JSON string of the stored events: canonical JSON escapes what
 * JSON.stringify escapes (quotes, backslashes, control characters), one character at a time.
 */
export function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
