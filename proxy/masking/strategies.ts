import { createHmac } from 'node:crypto';
import { assertNever } from '../common/assert-never.js';
import { luhnCheckDigit } from './detectors/card-check.js';
import { isAsciiAlnum } from './detectors/chars.js';
import { ibanCheckDigits } from './detectors/iban-check.js';
import type { StrategySpec } from './masking-types.js';

// What replaces a sensitive value. Every strategy is deterministic in (value, key): random
// output would let a caller average it away by asking again. No output contains `"`, `\` or a
// control character (redact's replacement is config, validated there), so replacing a match
// inside JSON text keeps it JSON.

/** Detectors whose hits are mostly digits: partial keeps their last digits and their separators. */
const DIGIT_BEARING: ReadonlySet<string> = new Set(['card', 'phone', 'iban', 'ssn', 'ipv4']);

/**
 * The replacement for `value` under `spec`; null for the `null` strategy. `detector` is the
 * built-in detector that found the value (or `custom`); undefined for a whole column value.
 */
export function applyStrategy(value: string, spec: StrategySpec, key: Buffer, detector?: string): string | null {
  switch (spec.strategy) {
    case 'redact':
      return spec.replacement ?? (detector ? `[redacted:${detector}]` : '[redacted]');
    case 'partial':
      return partial(value, spec.keepLast ?? 4, detector);
    case 'hash':
      return createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 32);
    case 'null':
      return null;
    case 'fake':
      return fake(value, key, detector);
    default:
      return assertNever(spec.strategy, 'masking strategy');
  }
}

/**
 * Keeps a little of the value: an email its domain (`****@example.com`, the local part's length
 * hidden); digit-bearing hits their last `keepLast` digits with separators in place
 * (`**** **** **** 4242`); a private key its BEGIN and END lines; anything else its last
 * `keepLast` characters. A value of 8 characters or fewer, or not longer than twice `keepLast`,
 * is starred entirely so a short value never shows whole.
 */
function partial(value: string, keepLast: number, detector: string | undefined): string {
  const keep = Math.max(0, Math.floor(keepLast));
  if (detector === 'email') {
    const at = value.lastIndexOf('@');
    if (at > 0) return `****${starUnsafe(value.slice(at))}`;
  }
  if (detector === 'private_key') {
    const outline = pemOutline(value);
    if (outline) return `${outline.begin}****${outline.end}`;
  }
  if (detector !== undefined && DIGIT_BEARING.has(detector)) return keepLastDigits(value, keep);
  const chars = Array.from(value);
  if (chars.length <= keep * 2 || chars.length < 8) return '*'.repeat(chars.length);
  return '*'.repeat(chars.length - keep) + starUnsafe(chars.slice(chars.length - keep).join(''));
}

/** Stars every letter and digit but the last `keep`, separators kept: the hot path of card and phone columns. */
function keepLastDigits(value: string, keep: number): string {
  const length = value.length;
  // Digit-bearing hits are ASCII: UTF-16 units are characters here.
  if (length <= keep * 2 || length < 8) return '*'.repeat(Array.from(value).length);
  let cut = length;
  for (let kept = 0; cut > 0 && kept < keep; ) if (isAsciiAlnum(value.charCodeAt(--cut))) kept++;
  // Native replaces: cheaper than building the string a character at a time.
  return starUnsafe(value.slice(0, cut).replace(ALNUM, '*') + value.slice(cut));
}

const ALNUM = /[A-Za-z0-9]/g;

/** Replaces `"`, `\` and control characters by `*`. */
function starUnsafe(text: string): string {
  return text.replace(UNSAFE, '*');
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what it removes
const UNSAFE = /["\\\u0000-\u001f\u007f]/g;

const PEM_OUTLINE = /^(-----BEGIN [A-Z0-9 ]+-----)([\s\S]*)(-----END [A-Z0-9 ]+-----)$/;

function pemOutline(value: string): { begin: string; body: string; end: string } | undefined {
  const m = PEM_OUTLINE.exec(value);
  return m ? { begin: m[1]!, body: m[2]!, end: m[3]! } : undefined;
}

/**
 * Format-preserving fake: each ASCII digit becomes a digit and each ASCII letter a letter of the
 * same case, from a byte stream keyed by HMAC-SHA256(key, 'fake:' + value); other characters stay
 * (so `@`, `.`, `-`, `+` and spaces keep the shape), except `"`, `\` and control characters,
 * which become spaces. Non-ASCII letters become ASCII letters of the same case (lowercase for
 * scripts without case) and non-ASCII digits ASCII digits, so names in any script are replaced,
 * not kept. A card's last digit is then set so the fake passes Luhn; an email keeps its `@` and
 * TLD; an IBAN keeps its country code and gets valid check digits; a private key keeps its
 * BEGIN and END lines around a fake body without line breaks.
 */
function fake(value: string, key: Buffer, detector: string | undefined): string {
  const bytes = fakeBytes(key, value);
  switch (detector) {
    case 'card':
      return withLuhnDigit(fakeChars(value, bytes));
    case 'email': {
      const dot = value.lastIndexOf('.');
      if (dot > value.lastIndexOf('@')) return fakeChars(value.slice(0, dot), bytes) + value.slice(dot);
      break;
    }
    case 'iban':
      return withIbanCheckDigits(value.slice(0, 2) + fakeChars(value.slice(2), bytes));
    case 'private_key': {
      const outline = pemOutline(value);
      if (outline) return `${outline.begin} ${fakeChars(outline.body.replace(/\\[nrt/]|\s/g, ''), bytes)} ${outline.end}`;
      break;
    }
  }
  return fakeChars(value, bytes);
}

/** An endless byte stream: HMAC(key, 'fake:' + value), then HMAC(key, first block + counter). */
function fakeBytes(key: Buffer, value: string): () => number {
  const first = createHmac('sha256', key).update('fake:').update(value, 'utf8').digest();
  let block = first;
  let pos = 0;
  let counter = 0;
  return () => {
    if (pos === block.length) {
      counter++;
      block = createHmac('sha256', key).update(first).update(String(counter)).digest();
      pos = 0;
    }
    return block[pos++]!;
  };
}

/** A uniform value below `n` (rejection sampling keeps digits and letters unbiased). */
function below(n: number, next: () => number): number {
  const limit = 256 - (256 % n);
  let b = next();
  while (b >= limit) b = next();
  return b % n;
}

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;

function fakeChars(text: string, next: () => number): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c >= 48 && c <= 57) out += String.fromCharCode(48 + below(10, next));
    else if (c >= 65 && c <= 90) out += String.fromCharCode(65 + below(26, next));
    else if (c >= 97 && c <= 122) out += String.fromCharCode(97 + below(26, next));
    else if (c === 34 || c === 92 || c < 32 || c === 127) out += ' ';
    else if (c < 128) out += ch;
    else if (DIGIT.test(ch)) out += String.fromCharCode(48 + below(10, next));
    else if (LETTER.test(ch)) out += String.fromCharCode((ch !== ch.toLowerCase() ? 65 : 97) + below(26, next));
    else out += ch;
  }
  return out;
}

function withLuhnDigit(card: string): string {
  const digits = card.replace(/\D/g, '');
  const last = card.search(/\d(?=\D*$)/);
  if (last < 0) return card;
  return card.slice(0, last) + String(luhnCheckDigit(digits.slice(0, -1))) + card.slice(last + 1);
}

function withIbanCheckDigits(iban: string): string {
  const compact = iban.replace(/ /g, '');
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]+$/.test(compact)) return iban;
  const check = ibanCheckDigits(compact);
  return iban.slice(0, 2) + check + iban.slice(4);
}
