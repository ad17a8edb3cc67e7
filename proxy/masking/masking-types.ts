// The shapes every part of masking shares: detectors find sensitive text, strategies say what
// replaces it, value shapes say how a PostgreSQL value holds text, cell actions say what to do
// with one result column. Plain data and functions: no Node APIs, no wire code.

export const MASKING_STRATEGIES = ['redact', 'partial', 'hash', 'null', 'fake'] as const;
export type MaskingStrategy = (typeof MASKING_STRATEGIES)[number];

/** Built-in content detectors, as named in config (`detect: email`). */
export const DETECTOR_NAMES = [
  'email',
  'phone',
  'card',
  'iban',
  'ssn',
  'ipv4',
  'ipv6',
  'jwt',
  'aws_access_key_id',
  'aws_secret_access_key',
  'github_token',
  'gitlab_token',
  'slack_token',
  'private_key',
  'keyed_secret',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** One validated hit in a string: UTF-16 offsets `[start, end)`. */
export interface DetectorMatch {
  readonly start: number;
  readonly end: number;
  /** The built-in detector's name, or `custom` for a config RE2 pattern. */
  readonly detector: string;
}

export interface Detector {
  readonly name: string;
  /**
   * Appends the validated matches in `text` to `out`, in any order. A match never contains
   * `"`, `\` or a control character, so replacing it inside JSON text keeps the JSON valid.
   */
  find(text: string, out: DetectorMatch[]): void;
}

/** What replaces a value, as configured on a rule. */
export interface StrategySpec {
  readonly strategy: MaskingStrategy;
  /** redact: the replacement text (default `[redacted]`, or `[redacted:<detector>]` for a detector hit). */
  readonly replacement?: string;
  /** partial: trailing characters (digits, for cards and phones) left visible; default 4. Emails keep their domain instead. */
  readonly keepLast?: number;
}

/** A content rule compiled for one caller: its detectors and how their hits are replaced. */
export interface ContentRule {
  readonly rule: string;
  readonly detectors: readonly Detector[];
  readonly spec: StrategySpec;
}

/** How a PostgreSQL value holds text, so masking can reach it in text and binary formats. */
export type ValueShape =
  /** text, varchar, bpchar, name, citext, xml, unknown, and domains over them: the bytes are the text (UTF-8) in both formats. */
  | { readonly kind: 'text' }
  /** json: its text in both formats. */
  | { readonly kind: 'json' }
  /** jsonb: text format is the JSON text; binary is a version byte (1) then the JSON text. */
  | { readonly kind: 'jsonb' }
  /** An array whose elements have a text-like shape (PostgreSQL's array text literal, or its binary layout). */
  | { readonly kind: 'array'; readonly element: ValueShape; readonly elementOid: number }
  /** Anything else: detectors do not look inside; a column rule makes it NULL. */
  | { readonly kind: 'other' };

/** A whole-value rule on a source column (`columns:` in config), compiled for one caller. */
export interface ColumnAction {
  readonly rule: string;
  readonly strategy: MaskingStrategy;
  /** The strategy applied to the whole value (each element of an array); null means SQL NULL. */
  readonly apply: (value: string) => string | null;
  /** True for the `null` strategy: the cell becomes NULL whatever its type. */
  readonly nulls: boolean;
  /** What happens to a statement that computes a value from this column (config `derived`, default deny). */
  readonly derived: DerivedAction;
}

/** A statement computing from a masked column: refused, held for approval, or left to the content detectors. */
export type DerivedAction = 'deny' | 'approve' | 'detectors';

/** Applies content rules to a string. Implemented by TextMasker (text-masker.ts). */
export interface ContentMasker {
  /** True when no rule is configured: callers skip text entirely. */
  readonly empty: boolean;
  /**
   * Masks `text`. Returns undefined when nothing matched (the common case, allocation-free);
   * otherwise the new text (null when a `null`-strategy rule matched: the whole cell becomes
   * NULL) and adds one hit per replaced match to `hits`, keyed by rule name.
   */
  mask(text: string, hits: Map<string, number>): string | null | undefined;
}

/** What to do with one result column: its shape and format, and which rules cover it. */
export interface CellAction {
  readonly shape: ValueShape;
  /** 0 text, 1 binary, as the result is sent to the client. */
  readonly format: 0 | 1;
  /** A column rule covering this column's source; it wins over content detectors. */
  readonly column?: ColumnAction;
  /** Content detectors over this column's text; only set for text-like shapes. */
  readonly content?: ContentMasker;
}

/** Cells masked per rule name: what the audit record says about a statement. */
export type MaskingHits = Map<string, number>;
