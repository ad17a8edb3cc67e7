import { createHash } from 'node:crypto';

// Searching a client's output for a masked value: not only the value as stored but the simple
// encodings a caller can ask PostgreSQL for (upper, reverse, translate, encode(..., 'hex'),
// md5, sha256, base64, JSON escaping), so a query that moves the value through one of them is
// caught even when the value itself never appears.

/** One encoding of a raw value and whether case matters when searching for it. */
interface Encoding {
  readonly name: string;
  readonly text: string;
  readonly caseSensitive: boolean;
}

/** Letters and digits only: `287-65-4321` -> `287654321`, `ada.quill@example.com` -> `adaquillexamplecom`. */
export function alphanumeric(text: string): string {
  return text.replace(/[^\p{L}\p{N}]/gu, '');
}

function encodingsOf(raw: string): Encoding[] {
  const bytes = Buffer.from(raw, 'utf8');
  const hex = bytes.toString('hex');
  return [
    { name: 'raw', text: raw, caseSensitive: true },
    { name: 'upper', text: raw.toUpperCase(), caseSensitive: true },
    { name: 'lower', text: raw.toLowerCase(), caseSensitive: true },
    { name: 'any case', text: raw, caseSensitive: false },
    { name: 'reversed', text: Array.from(raw).reverse().join(''), caseSensitive: false },
    { name: 'hex', text: hex, caseSensitive: false },
    { name: 'hex upper', text: hex.toUpperCase(), caseSensitive: true },
    { name: 'base64', text: bytes.toString('base64'), caseSensitive: true },
    { name: 'base64url', text: bytes.toString('base64url'), caseSensitive: true },
    { name: 'url-encoded', text: encodeURIComponent(raw), caseSensitive: false },
    { name: 'md5', text: createHash('md5').update(bytes).digest('hex'), caseSensitive: false },
    { name: 'sha256', text: createHash('sha256').update(bytes).digest('hex'), caseSensitive: false },
    { name: 'json-escaped', text: JSON.stringify(raw).slice(1, -1), caseSensitive: true },
    { name: 'json-escaped twice', text: JSON.stringify(JSON.stringify(raw)).slice(1, -1), caseSensitive: true },
  ];
}

/**
 * Which encodings of `raw` occur in `output` (empty when none). Besides the encodings above,
 * `without separators` finds the value's letters and digits in order once everything else is
 * stripped from the output too (`287 65 4321`, `ada quill example com`, the SSN's digits only).
 */
export function leaks(output: string, raw: string): string[] {
  const lowerOutput = output.toLowerCase();
  const found = new Set<string>();
  for (const encoding of encodingsOf(raw)) {
    const hit = encoding.caseSensitive ? output.includes(encoding.text) : lowerOutput.includes(encoding.text.toLowerCase());
    if (hit) found.add(encoding.name);
  }
  const bare = alphanumeric(raw).toLowerCase();
  // Short values stripped of separators would match by chance; every value searched here is longer.
  if (bare.length >= 8 && alphanumeric(lowerOutput).includes(bare)) found.add('without separators');
  return [...found];
}

/**
 * Whether the digits of `raw` (an SSN) appear in order in `result` once every non-digit is
 * dropped: what assembling a value one character per row or per call gives.
 */
export function digitsInOrder(result: string, raw: string): boolean {
  const digits = raw.replace(/\D/g, '');
  return digits.length >= 6 && result.replace(/\D/g, '').includes(digits);
}
