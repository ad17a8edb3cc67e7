// What the audit store keeps of an HTTP exchange: method, path, status, headers (credentials and
// cookies never), and bounded samples of the bodies, masked. Payloads are plain JSON data.

/** Headers whose values are credentials or sessions: recorded as present, never their value. */
const SECRET_HEADERS = /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-access-token|x-csrf-token|x-xsrf-token)$|token|secret|passw|api[-_]?key|session|signature/i;
const NOT_RECORDED = '[not recorded]';
const MAX_HEADERS = 64;
const MAX_HEADER_VALUE = 512;

/**
 * Headers for the record: names lower-cased, credential-like values replaced, others masked by
 * `forRecord` and cut at 512 characters; at most 64 entries.
 */
export function recordedHeaders(rawHeaders: readonly string[], forRecord: (text: string) => string, alsoSecret?: string): Record<string, string> {
  // A Map, so a header named __proto__ is just a name.
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const earlier = headers.get(name);
    if (earlier === undefined && headers.size >= MAX_HEADERS) continue;
    const secret = SECRET_HEADERS.test(name) || name === alsoSecret;
    const value = secret ? NOT_RECORDED : cut(forRecord(rawHeaders[i + 1]!));
    headers.set(name, earlier === undefined ? value : cut(`${earlier}, ${value}`));
  }
  return Object.fromEntries(headers);
}

/** A bounded sample of a body as text for the record: what the client sent or received (already masked). */
export class BodySample {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  bytes = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.#kept >= this.#limit) return;
    const part = chunk.subarray(0, this.#limit - this.#kept);
    this.#chunks.push(Buffer.from(part));
    this.#kept += part.length;
  }

  /** `{ bytes, sample?, truncated? }`; the sample only for text-like bodies. */
  payload(textual: boolean, forRecord?: (text: string) => string): Record<string, unknown> {
    if (this.bytes === 0) return { bytes: 0 };
    if (!textual || this.#limit === 0) return { bytes: this.bytes };
    const raw = Buffer.concat(this.#chunks).toString('utf8').replace(/\uFFFD+$/, '');
    return { bytes: this.bytes, sample: forRecord ? forRecord(raw) : raw, ...(this.bytes > this.#kept ? { truncated: true } : {}) };
  }
}

const TEXTUAL = /^(?:text\/|application\/(?:[\w.+-]+\+)?(?:json|xml)$|application\/(?:x-ndjson|x-www-form-urlencoded|javascript|x-yaml|yaml|graphql)$)/;

export function isTextual(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXTUAL.test(contentType);
}

function cut(text: string): string {
  return text.length > MAX_HEADER_VALUE ? `${text.slice(0, MAX_HEADER_VALUE)}…` : text;
}
