import type { JsonPathAction } from './json-path-rules.js';
import type { ContentMasker } from './masking-types.js';

// What replaces one JSON value or member name (json-stream-masker.ts reads the document; this
// decides on each string and scalar it hands over). Replacements are JSON text.

const MAX_PLAIN_KEYS = 4096;

export class JsonReplacements {
  /** Member names the detectors left unchanged: documents repeat them, so each is looked at once. */
  readonly #plainKeys = new Set<string>();

  constructor(
    private readonly content: ContentMasker,
    private readonly hits: Map<string, number>,
    /** Applied to strings written with escapes (decoded), after masking. */
    private readonly scrubEscaped: ((text: string) => string | undefined) | undefined,
  ) {}

  /** Strings must be decoded and looked at even where no path rule applies. */
  get inspectsStrings(): boolean {
    return !this.content.empty;
  }

  /** A member name's replacement (a null-strategy hit cannot null a name: it is redacted). */
  key(text: string, escaped: boolean): string | undefined {
    if (this.#plainKeys.has(text)) return undefined;
    const masked = this.#maskText(text, escaped);
    if (masked !== undefined) return JSON.stringify(masked ?? '[redacted]');
    if (this.#plainKeys.size >= MAX_PLAIN_KEYS) this.#plainKeys.clear();
    this.#plainKeys.add(text);
    return undefined;
  }

  /** A string value's replacement: the covering rule's strategy, else the detectors'. */
  string(text: string, action: JsonPathAction | undefined, escaped: boolean): string | undefined {
    if (action) return this.apply(action, text, escaped);
    const masked = this.#maskText(text, escaped);
    if (masked === undefined) return undefined;
    return masked === null ? 'null' : JSON.stringify(masked);
  }

  /** A number no rule covers, through the detectors: a hit becomes a string (or null), since masked digits are no number. */
  number(text: string): string | undefined {
    if (this.content.empty) return undefined;
    const masked = this.content.mask(text, this.hits);
    if (masked === undefined) return undefined;
    return masked === null ? 'null' : JSON.stringify(masked);
  }

  /** A covering rule's strategy on a value's text (a string's content, a number's or literal's source). */
  apply(action: JsonPathAction, text: string, escaped: boolean): string {
    this.hits.set(action.rule, (this.hits.get(action.rule) ?? 0) + 1);
    const value = action.apply(text);
    if (value === null) return 'null';
    return JSON.stringify((escaped ? this.scrubEscaped?.(value) : undefined) ?? value);
  }

  /** The detectors' verdict, then the escape scrub: the new text (null: a null-strategy rule hit), or undefined when unchanged. */
  #maskText(text: string, escaped: boolean): string | null | undefined {
    const masked = this.content.empty ? undefined : this.content.mask(text, this.hits);
    if (masked === null || !escaped || !this.scrubEscaped) return masked;
    return this.scrubEscaped(masked ?? text) ?? masked;
  }
}
