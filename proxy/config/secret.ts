import { inspect } from 'node:util';

const REDACTED = '[secret]';

/**
 * A secret value from config (an upstream password, an injected API key). It renders as
 * "[secret]" everywhere a value can leak by accident: string conversion, template strings,
 * JSON, util.inspect / console.log, error messages. Only `reveal()` returns the value, so every
 * place that needs it is easy to find with grep.
 */
export class Secret {
  readonly #value: string;
  /** Where the value came from (`env:NAME`, `file:PATH`, `inline`): safe to show. */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
    Object.freeze(this);
  }

  reveal(): string {
    return this.#value;
  }

  /** True when the value occurs in `text`: lets callers scrub text from elsewhere. */
  occursIn(text: string): boolean {
    return this.#value.length > 0 && text.includes(this.#value);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${this.source})`;
  }
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
