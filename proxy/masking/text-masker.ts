import type { ContentMasker, ContentRule, DetectorMatch } from './masking-types.js';
import { applyStrategy } from './strategies.js';

// Applies content rules to one string: every rule's detectors find their matches, overlaps are
// resolved, and each surviving match is replaced by its rule's strategy. This runs on every text
// cell of every result row, so the path where nothing matches allocates nothing: the scratch
// arrays are reused (mask is synchronous and never re-entered) and each detector returns early
// on text without its anchor character.

const BACKSLASH = 92;
/** Matches are ordered by a packed key, start * 2^22 + index: at most this many per text. */
const MAX_PACKED = 1 << 22;

export class TextMasker implements ContentMasker {
  readonly empty: boolean;
  readonly #rules: readonly ContentRule[];
  readonly #key: Buffer;
  readonly #found: DetectorMatch[] = [];
  /** The index of the rule whose detector produced `#found[i]`. */
  readonly #owner: number[] = [];
  readonly #hits: Int32Array;
  /** Per rule, redact's replacement by detector name: the same string for every hit. */
  readonly #redactions: Map<string, string>[];
  #keys: Float64Array = new Float64Array(64);
  #scratch: Float64Array = new Float64Array(64);

  constructor(rules: readonly ContentRule[], key: Buffer) {
    this.#rules = rules;
    this.#key = key;
    this.empty = rules.length === 0;
    this.#hits = new Int32Array(rules.length);
    this.#redactions = rules.map(() => new Map<string, string>());
  }

  mask(text: string, hits: Map<string, number>): string | null | undefined {
    const rules = this.#rules;
    const found = this.#found;
    const owner = this.#owner;
    found.length = 0;
    owner.length = 0;
    for (let r = 0; r < rules.length; r++) {
      const detectors = rules[r]!.detectors;
      for (let d = 0; d < detectors.length; d++) detectors[d]!.find(text, found);
      for (let i = owner.length; i < found.length; i++) owner.push(r);
    }
    if (found.length === 0) return undefined;
    try {
      return this.#replace(text, hits);
    } finally {
      found.length = 0;
    }
  }

  #replace(text: string, hits: Map<string, number>): string | null | undefined {
    const found = this.#found;
    const owner = this.#owner;
    const n = found.length;
    // Over four million matches in one value (tens of megabytes of PII): fail closed.
    if (n > MAX_PACKED) return null;
    if (this.#keys.length < n) {
      this.#keys = new Float64Array(Math.max(n, this.#keys.length * 2));
      this.#scratch = new Float64Array(this.#keys.length);
    }
    let keys: Float64Array = this.#keys;
    let valid = 0;
    for (let i = 0; i < n; i++) {
      const m = found[i]!;
      const start = afterEscape(text, m.start);
      if (start !== m.start) found[i] = { start, end: m.end, detector: m.detector };
      if (start < m.end) keys[valid++] = start * MAX_PACKED + i;
    }
    if (valid === 0) return undefined;
    // By start, then by the order found: rules in order, each rule's detectors in order.
    keys = sortRuns(keys, this.#scratch, valid);

    // Keep the matches that do not overlap one kept earlier; among those with the same start the
    // longest (the first found of equal ones). The kept indices go back into `keys` in place.
    let kept = 0;
    let lastEnd = -1;
    let lastStart = -1;
    for (let k = 0; k < valid; k++) {
      const i = keys[k]! % MAX_PACKED;
      const m = found[i]!;
      if (m.start === lastStart) {
        if (m.end > lastEnd) {
          keys[kept - 1] = i;
          lastEnd = m.end;
        }
        continue;
      }
      if (m.start < lastEnd) continue;
      keys[kept++] = i;
      lastStart = m.start;
      lastEnd = m.end;
    }

    const rules = this.#rules;
    const counts = this.#hits;
    counts.fill(0);
    let nulls = false;
    for (let k = 0; k < kept; k++) {
      const r = owner[keys[k]!]!;
      counts[r]! += 1;
      if (rules[r]!.spec.strategy === 'null') nulls = true;
    }
    for (let r = 0; r < rules.length; r++) {
      if (counts[r]! > 0) hits.set(rules[r]!.rule, (hits.get(rules[r]!.rule) ?? 0) + counts[r]!);
    }
    if (nulls) return null;

    let out = '';
    let last = 0;
    for (let k = 0; k < kept; k++) {
      const i = keys[k]!;
      const m = found[i]!;
      out += text.slice(last, m.start) + this.#replacement(text, m, owner[i]!);
      last = m.end;
    }
    return out + text.slice(last);
  }

  #replacement(text: string, m: DetectorMatch, r: number): string {
    const spec = this.#rules[r]!.spec;
    if (spec.strategy !== 'redact') return applyStrategy(text.slice(m.start, m.end), spec, this.#key, m.detector) ?? '';
    const cache = this.#redactions[r]!;
    let replacement = cache.get(m.detector);
    if (replacement === undefined) {
      replacement = applyStrategy('', spec, this.#key, m.detector) ?? '';
      cache.set(m.detector, replacement);
    }
    return replacement;
  }
}

/**
 * Sorts `a[0, n)` ascending by merging its ascending runs (natural merge sort), using `b` as
 * the other buffer; returns the buffer that holds the result. Each detector reports its matches
 * in order, so the keys arrive as one run per detector and a few passes sort them, faster than
 * a general sort.
 */
function sortRuns(a: Float64Array, b: Float64Array, n: number): Float64Array {
  let src = a;
  let dst = b;
  for (;;) {
    let runs = 0;
    let i = 0;
    while (i < n) {
      let mid = i + 1;
      while (mid < n && src[mid - 1]! <= src[mid]!) mid++;
      let end = mid;
      if (mid < n) {
        end = mid + 1;
        while (end < n && src[end - 1]! <= src[end]!) end++;
      }
      let x = i;
      let y = mid;
      let k = i;
      while (x < mid && y < end) dst[k++] = src[x]! <= src[y]! ? src[x++]! : src[y++]!;
      while (x < mid) dst[k++] = src[x++]!;
      while (y < end) dst[k++] = src[y++]!;
      i = end;
      runs++;
    }
    const t = src;
    src = dst;
    dst = t;
    if (runs <= 1) return src;
  }
}

/**
 * Where a match that starts at `start` may begin without splitting a backslash escape: in JSON
 * text `\nuser@example.com` is a line break then the address, and replacing from the `n` would
 * leave `\[redacted]`, which is not JSON. An odd run of backslashes before `start` means the
 * character at `start` is escaped: skip it (and the four hex digits of `\uXXXX`).
 */
function afterEscape(text: string, start: number): number {
  if (start === 0 || text.charCodeAt(start - 1) !== BACKSLASH) return start;
  let k = start - 1;
  while (k > 0 && text.charCodeAt(k - 1) === BACKSLASH) k--;
  if ((start - k) % 2 === 0) return start;
  return text.charCodeAt(start) === 117 ? start + 5 : start + 1;
}
