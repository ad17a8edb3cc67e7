import type { Detector, DetectorMatch } from '../masking-types.js';
import { knownIssuer, luhnValidIn } from './card-check.js';
import { forEachAssignment, KeyNames } from './assignments.js';
import { isAsciiAlnum, isDigit, isWordChar } from './chars.js';
import { IBAN_MAX_LENGTH, IBAN_MIN_LENGTH, ibanLength, ibanRemainderIn } from './iban-check.js';

// Payment cards, IBANs and US social security numbers: each a pattern that finds candidates and
// a checksum or range test that throws most of them away, so long numbers in ordinary data
// (order ids, timestamps, phone numbers) are not masked as money.

const SPACE = 32;
const DOT = 46;

// 13-19 digits: a first group of four, then single spaces or dashes allowed between any two
// digits; the grouping and the true end are checked below. Boundaries are checked in code: a
// lookbehind at the start would slow the engine's scan for candidates.
const CARD_CANDIDATE = /\d{4}[ -]?\d{2}(?:[ -]?\d){7,13}/g;

/**
 * Payment card numbers: 13-19 digits, contiguous or in groups (first group 4 digits, the others
 * 3-6, one kind of separator), passing Luhn, with a known issuer prefix and length. A number
 * inside a longer digit run or touching letters or a decimal point is not a card.
 */
export const cardDetector: Detector = {
  name: 'card',
  find(text: string, out: DetectorMatch[]): void {
    const re = CARD_CANDIDATE;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const start = m.index;
      const before = start > 0 ? text.charCodeAt(start - 1) : SPACE;
      const end = isWordChar(before) || before === DOT ? -1 : cardEnd(text, start, start + m[0].length);
      if (end > 0) {
        out.push({ start, end, detector: 'card' });
        re.lastIndex = end;
      } else {
        // A card may start at the next group (`ref 1234 4242 4242 4242 4242`).
        let k = start + 1;
        while (isDigit(text.charCodeAt(k))) k++;
        re.lastIndex = k;
      }
    }
  },
};

const cardGroupEnds = new Int32Array(20);

/** The end of the longest valid card that starts at `start` within `[start, end)`, or -1. */
function cardEnd(text: string, start: number, end: number): number {
  let groups = 0;
  let sep = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) continue;
    if (sep === 0) sep = c;
    else if (c !== sep) {
      end = i;
      break;
    }
    cardGroupEnds[groups++] = i;
  }
  cardGroupEnds[groups++] = end;
  for (let k = groups; k >= 1; k--) {
    const groupEnd = cardGroupEnds[k - 1]!;
    const digits = groupEnd - start - (k - 1);
    if (digits < 13 || digits > 19 || !cardGrouping(start, k)) continue;
    if (knownIssuer(firstSixDigits(text, start), digits) && luhnValidIn(text, start, groupEnd)) {
      const after = text.charCodeAt(groupEnd);
      // `4242 4242 4242 4242-5` or `4242424242424242.5`: this is not where the number ends.
      if (after === 45 || isAsciiAlnum(after) || ((after === 46 || after === 44) && isDigit(text.charCodeAt(groupEnd + 1)))) continue;
      return groupEnd;
    }
  }
  return -1;
}

/** The first six digits from `start` as a number, separators skipped. */
function firstSixDigits(text: string, start: number): number {
  let value = 0;
  for (let i = start, k = 0; k < 6; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d >= 0 && d <= 9) {
      value = value * 10 + d;
      k++;
    }
  }
  return value;
}

function cardGrouping(start: number, groups: number): boolean {
  if (groups === 1) return true;
  if (cardGroupEnds[0]! - start !== 4) return false;
  for (let g = 1; g < groups; g++) {
    const len = cardGroupEnds[g]! - cardGroupEnds[g - 1]! - 1;
    if (len < 3 || len > 6) return false;
  }
  return true;
}

// Country code, check digits, then 11-30 letters or digits with a space allowed before any.
// The start boundary is checked in code (see CARD_CANDIDATE).
const IBAN_CANDIDATE = /[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}/g;

const ibanEnds = new Int32Array(IBAN_MAX_LENGTH + 1);

/**
 * IBANs: uppercase, compact or in groups of four separated by single spaces, of the length the
 * country issues (15-34 for a country the table does not know), with a mod-97 remainder of 1.
 */
export const ibanDetector: Detector = {
  name: 'iban',
  find(text: string, out: DetectorMatch[]): void {
    const re = IBAN_CANDIDATE;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const start = m.index;
      const end = start > 0 && isAsciiAlnum(text.charCodeAt(start - 1)) ? -1 : ibanEnd(text, start, start + m[0].length);
      if (end > 0) {
        out.push({ start, end, detector: 'iban' });
        re.lastIndex = end;
      } else {
        re.lastIndex = start + 1;
      }
    }
  },
};

function ibanEnd(text: string, start: number, end: number): number {
  // Where each compact character ends. Either no spaces, or one after every group of four.
  const spaced = text.charCodeAt(start + 4) === SPACE;
  let count = 0;
  for (let i = start; i < end && count < IBAN_MAX_LENGTH; i++) {
    if (text.charCodeAt(i) === SPACE) {
      if (!spaced || count % 4 !== 0) break;
      continue;
    }
    if (spaced && count % 4 === 0 && count > 0 && text.charCodeAt(i - 1) !== SPACE) break;
    ibanEnds[++count] = i + 1;
  }
  const country = text.slice(start, start + 2);
  const known = ibanLength(country);
  const longest = known ?? Math.min(count, IBAN_MAX_LENGTH);
  const shortest = known ?? IBAN_MIN_LENGTH;
  for (let len = longest; len >= shortest && len <= count; len--) {
    const e = ibanEnds[len]!;
    if (e < text.length && isAsciiAlnum(text.charCodeAt(e))) continue;
    if (ibanRemainderIn(text, start, e) === 1) return e;
  }
  return -1;
}

// Boundaries and the matching separators are checked in code (see CARD_CANDIDATE).
const SSN_GROUPED = /\d{3}[- ]\d\d[- ]\d{4}/g;
// Nine bare digits only as the value of an SSN key: `SSN: 123456789`, `"ssn":"123456789"`.
const SSN_KEYS = new KeyNames(['ssn', 'social_security_number', 'socialsecuritynumber', 'social-security-number', 'social_security_no', 'social security number']);
const SSN_BARE = /(?:\\?["'])?(\d{9})(?![\w-])/y;

/**
 * US social security numbers `AAA-GG-SSSS` (dashes or spaces), or nine bare digits assigned to
 * an `ssn`-like key (`ssn: 123456789`; not `SSN 123456789`, without a separator); area 000, 666
 * and 900-999, group 00 and serial 0000 are never issued.
 */
export const ssnDetector: Detector = {
  name: 'ssn',
  find(text: string, out: DetectorMatch[]): void {
    const re = SSN_GROUPED;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const start = m.index;
      const end = start + 11;
      if (!ssnBoundaries(text, start, end)) {
        re.lastIndex = start + 1;
        continue;
      }
      const ssn = m[0];
      if (ssn.charCodeAt(3) === ssn.charCodeAt(6) && ssnValid(ssn.slice(0, 3), ssn.slice(4, 6), ssn.slice(7))) out.push({ start, end, detector: 'ssn' });
    }
    forEachAssignment(text, SSN_KEYS, readBareSsn, out);
  },
};

function readBareSsn(text: string, at: number, out: DetectorMatch[]): number {
  SSN_BARE.lastIndex = at;
  const m = SSN_BARE.exec(text);
  if (m === null) return at;
  const d = m[1]!;
  const end = SSN_BARE.lastIndex;
  if (ssnValid(d.slice(0, 3), d.slice(3, 5), d.slice(5))) out.push({ start: end - 9, end, detector: 'ssn' });
  return end;
}

/** Not inside a longer token: `1123-45-6789`, `123-45-67890`, `x123-45-6789`, `123-45-6789.5`. */
function ssnBoundaries(text: string, start: number, end: number): boolean {
  const before = start > 0 ? text.charCodeAt(start - 1) : SPACE;
  if (isWordChar(before) || before === DOT || before === 45) return false;
  if (end >= text.length) return true;
  const after = text.charCodeAt(end);
  return !(isWordChar(after) || after === 45 || (after === DOT && isDigit(text.charCodeAt(end + 1))));
}

function ssnValid(area: string, group: string, serial: string): boolean {
  return area !== '000' && area !== '666' && area.charCodeAt(0) !== 57 && group !== '00' && serial !== '0000';
}
