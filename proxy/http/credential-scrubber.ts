// The gateway's own credentials never reach a caller, even when an upstream reflects them (an
// echo endpoint, a debug error page quoting the request). Every response body and header passes
// through here last: each exact occurrence of a held value becomes `[secret]`.

const REPLACEMENT = '[secret]';
const REPLACEMENT_BYTES = Buffer.from(REPLACEMENT);
/** Shorter values are too likely to occur by chance: replacing them would corrupt responses. */
export const MIN_SCRUBBED_LENGTH = 8;

export class CredentialScrubber {
  readonly #values: readonly string[];
  readonly #bytes: readonly Buffer[];
  readonly #longest: number;

  /** `values`: the forms a held credential travels in (as configured, URL-encoded, base64 for basic auth). */
  constructor(values: readonly string[]) {
    // Longest first, so a value containing another is replaced whole.
    this.#values = [...new Set(values.filter((value) => value.length >= MIN_SCRUBBED_LENGTH))].sort((a, b) => b.length - a.length);
    this.#bytes = this.#values.map((value) => Buffer.from(value, 'utf8'));
    this.#longest = Math.max(0, ...this.#bytes.map((bytes) => bytes.length));
  }

  get empty(): boolean {
    return this.#values.length === 0;
  }

  /** The text with every held value replaced, or undefined when none occurs. */
  scrubText(text: string): string | undefined {
    let result: string | undefined;
    for (const value of this.#values) {
      if ((result ?? text).includes(value)) result = (result ?? text).split(value).join(REPLACEMENT);
    }
    return result;
  }

  /** A scrubber over a byte stream: values split across chunks are found too. */
  stream(): ByteScrubber {
    return new ByteScrubber(this.#bytes, this.#longest);
  }
}

export class ByteScrubber {
  /** Bytes held back because a value may start in them and end in the next chunk. */
  #tail: Buffer = Buffer.alloc(0);
  /** Replacements made. */
  replaced = 0;

  constructor(
    private readonly values: readonly Buffer[],
    private readonly longest: number,
  ) {}

  write(chunk: Buffer): Buffer[] {
    if (this.values.length === 0) return chunk.length > 0 ? [chunk] : [];
    const data = this.#tail.length > 0 ? Buffer.concat([this.#tail, chunk]) : chunk;
    const { out, end } = this.#scan(data, data.length - (this.longest - 1));
    this.#tail = Buffer.from(data.subarray(end));
    return out;
  }

  end(): Buffer[] {
    const data = this.#tail;
    this.#tail = Buffer.alloc(0);
    return this.#scan(data, data.length).out;
  }

  /**
   * Replaces the values that start before `limit`; returns the output and where it stopped (the
   * rest may hold the start of a value).
   */
  #scan(data: Buffer, limit: number): { out: Buffer[]; end: number } {
    const out: Buffer[] = [];
    let from = 0;
    for (;;) {
      let at = -1;
      let found: Buffer | undefined;
      for (const value of this.values) {
        const index = data.indexOf(value, from);
        if (index !== -1 && (at === -1 || index < at)) {
          at = index;
          found = value;
        }
      }
      if (!found || at >= limit) break;
      if (at > from) out.push(data.subarray(from, at));
      out.push(REPLACEMENT_BYTES);
      this.replaced++;
      from = at + found.length;
    }
    const end = Math.max(from, Math.min(data.length, Math.max(0, limit)));
    if (end > from) out.push(data.subarray(from, end));
    return { out, end };
  }
}
