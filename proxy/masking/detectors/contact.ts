import type { Detector, DetectorMatch } from '../masking-types.js';
import { isAsciiAlnum, isAsciiLetter, isDigit, isWordChar } from './chars.js';

// Email addresses and telephone numbers. Both are found by hand-written scanners anchored on a
// cheap character (`@`, a digit): a RegExp starting with a character class would try every
// position of a long word and go quadratic on text without the anchor.

const AT = 64;
const DOT = 46;
const DASH = 45;
const PLUS = 43;
const SPACE = 32;
const LPAREN = 40;
const RPAREN = 41;
const SLASH = 47;
const COLON = 58;

/** ASCII local-part characters we accept (dot-atom without the rarer `!#$&'*=?^`{|}~`). */
const isLocalChar = (c: number): boolean => isAsciiAlnum(c) || c === DOT || c === 95 || c === 37 || c === PLUS || c === DASH;
const isLabelChar = (c: number): boolean => isAsciiAlnum(c) || c === DASH;

/**
 * `local@domain.tld`: a local part of at most 64 characters without leading, trailing or double
 * dots; a domain of at least two labels (1-63 letters, digits or inner hyphens) ending in an
 * all-letter TLD of 2+ letters (or an `xn--` one). So `a@b`, `user@localhost` and `x@1.2` are
 * not addresses, and a sentence's full stop after the address is not part of it.
 */
export const emailDetector: Detector = {
  name: 'email',
  find(text: string, out: DetectorMatch[]): void {
    let at = text.indexOf('@');
    while (at >= 0) {
      const end = emailEndAt(text, at);
      let next = at + 1;
      if (end > 0) {
        const start = emailStartAt(text, at);
        if (start >= 0) {
          out.push({ start, end, detector: 'email' });
          next = end;
        }
      }
      at = text.indexOf('@', next);
    }
  },
};

/** The start of a valid local part ending before `at`, or -1. */
function emailStartAt(text: string, at: number): number {
  let s = at;
  while (s > 0 && at - s <= 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
  if (at - s > 64) return -1;
  while (s < at && text.charCodeAt(s) === DOT) s++;
  if (s === at || text.charCodeAt(at - 1) === DOT) return -1;
  for (let i = s + 1; i < at; i++) if (text.charCodeAt(i) === DOT && text.charCodeAt(i - 1) === DOT) return -1;
  return s;
}

/** The end of a valid domain starting after `at`, or -1. */
function emailEndAt(text: string, at: number): number {
  const n = text.length;
  let i = at + 1;
  let labels = 0;
  let end = -1;
  let tldStart = -1;
  for (;;) {
    const labelStart = i;
    while (i < n && i - labelStart < 64 && isLabelChar(text.charCodeAt(i))) i++;
    const len = i - labelStart;
    if (len === 0 || len > 63) break;
    if (text.charCodeAt(labelStart) === DASH || text.charCodeAt(i - 1) === DASH) break;
    labels++;
    end = i;
    tldStart = labelStart;
    if (i + 1 < n && text.charCodeAt(i) === DOT && isLabelChar(text.charCodeAt(i + 1))) i++;
    else break;
  }
  if (labels < 2 || end - at - 1 > 253) return -1;
  if (end < n && (isWordChar(text.charCodeAt(end)) || text.charCodeAt(end) === DASH || text.charCodeAt(end) === AT)) return -1;
  const tldLength = end - tldStart;
  if (tldLength < 2) return -1;
  if (text.startsWith('xn--', tldStart)) return end;
  for (let k = tldStart; k < end; k++) if (!isAsciiLetter(text.charCodeAt(k))) return -1;
  return end;
}

// Phone scanner scratch: digit count per group and the separator after each group.
const MAX_GROUPS = 8;
const groupDigits = new Int8Array(MAX_GROUPS);
const groupSep = new Int32Array(MAX_GROUPS);

// Candidates: where a number in one of the shapes below can begin, as the RegExp engine can tell
// from a few characters (`+` or `(` and a digit, 3-3-4 digits, a trunk 0 and a group); the
// parser reads the rest. Ordinary numbers (`3`, `19.99`, `12:30`, `2.4.1`) fail inside the
// engine, much cheaper than returning each digit run to JavaScript. (Measured: a `.` inside a
// separator class such as `[-. ]` makes V8 scan several times slower, hence two spellings.)
// The trunk alternative checks what precedes it (digits inside cards and IBANs look the same).
const PHONE_CANDIDATE = /[+(]\d|\d{3}(?:[- ]\d{3}[- ]|\.\d{3}\.)\d{4}|(?<![\w.+-])0\d{1,4}[ -]\d\d/g;

/**
 * Telephone numbers with 7 to 15 digits in the shapes people write them:
 * - international: `+` and a country code, digits grouped by single spaces, dashes or dots or
 *   not at all, an optional area code in parentheses (`+14155550123`, `+44 20 7946 0958`,
 *   `+1 555-0142`, `+44 (0)20 7946 0958`);
 * - North American: `(415) 555-0123`, `415-555-0123`, `415.555.0123`, `1-415-555-0123`, the
 *   same separator between the groups;
 * - national with a trunk 0: `020 7946 0958`, `(020) 7946 0958`, `06-12345678`, 9 to 12
 *   digits, groups of 2+ digits joined by one kind of space or dash.
 * Not phones: bare digit runs without `+` (`4155550123`: order numbers look the same), 7-digit
 * local numbers without `+` (`555-0123`), dates, versions, IP addresses, times, and any run
 * touching letters, more digits, or `.`/`-`/`/`/`:` followed by a digit.
 */
export const phoneDetector: Detector = {
  name: 'phone',
  find(text: string, out: DetectorMatch[]): void {
    const re = PHONE_CANDIDATE;
    re.lastIndex = 0;
    const n = text.length;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      let p = m.index;
      // The NANP candidate starts after a leading `1-`/`1 `/`1.` (`1-415-555-0123`).
      if (p >= 2 && text.charCodeAt(p - 2) === 49 && isPhoneSep(text.charCodeAt(p - 1)) && (p === 2 || phoneMayStartAfter(text.charCodeAt(p - 3)))) p -= 2;
      if (p > 0 && !phoneMayStartAfter(text.charCodeAt(p - 1))) {
        let q = p + 1;
        while (q < n && isDigit(text.charCodeAt(q))) q++;
        re.lastIndex = Math.max(q, m.index + 1);
        continue;
      }
      const end = phoneEndAt(text, p);
      if (end > 0) {
        out.push({ start: p, end, detector: 'phone' });
        re.lastIndex = end;
      } else {
        // Past the candidate's start at least: a `1-` prefix moved p before it.
        re.lastIndex = Math.max(-end, m.index + 1);
      }
    }
  },
};

const phoneMayStartAfter = (c: number): boolean => !(isWordChar(c) || c === DOT || c === DASH || c === PLUS || c === SLASH || c === AT);

const isPhoneSep = (c: number): boolean => c === SPACE || c === DASH || c === DOT;

/**
 * Parses a phone-shaped token at `p`. Returns its end when it is a phone; otherwise minus the
 * position to resume scanning at (after its first group, so a phone later in the token is found).
 */
function phoneEndAt(text: string, p: number): number {
  const n = text.length;
  let q = p;
  const plus = text.charCodeAt(q) === PLUS;
  if (plus) q++;
  let groups = 0;
  let digits = 0;
  let paren = -1;
  let resume = -1;
  let lastEnd = q;
  while (groups < MAX_GROUPS) {
    const c = text.charCodeAt(q);
    if (c === LPAREN) {
      if (paren >= 0 || groups > 1) break;
      let k = q + 1;
      while (k < n && k - q <= 5 && isDigit(text.charCodeAt(k))) k++;
      const len = k - q - 1;
      if (len < 1 || len > 4 || text.charCodeAt(k) !== RPAREN) break;
      paren = groups;
      groupDigits[groups] = len;
      q = k + 1;
    } else if (isDigit(c)) {
      let k = q + 1;
      while (k < n && isDigit(text.charCodeAt(k))) k++;
      if (k - q > 15) return -k;
      groupDigits[groups] = k - q;
      q = k;
    } else {
      break;
    }
    digits += groupDigits[groups]!;
    groups++;
    lastEnd = q;
    if (resume < 0) resume = q;
    if (digits > 15) return -resume;
    const s = text.charCodeAt(q);
    const after = text.charCodeAt(q + 1);
    if (isPhoneSep(s) && (isDigit(after) || (after === LPAREN && paren < 0))) {
      groupSep[groups - 1] = s;
      q++;
    } else if (paren === groups - 1 && isDigit(s)) {
      groupSep[groups - 1] = 0;
    } else {
      break;
    }
  }
  if (groups === 0) return -(p + 1);
  // A separator consumed before a `(` that did not open an area code is not part of the number.
  q = lastEnd;
  if (q < n) {
    const c = text.charCodeAt(q);
    if (isWordChar(c) || c === AT || c === LPAREN || c === PLUS) return -resume;
    if ((c === DOT || c === DASH || c === SLASH || c === COLON || c === SPACE) && isDigit(text.charCodeAt(q + 1))) return -resume;
  }
  if (digits < 7) return -resume;
  return (plus ? internationalPhone(groups, digits) : nationalPhone(text, p, groups, digits, paren)) ? q : -resume;
}

function internationalPhone(groups: number, digits: number): boolean {
  if (groups === 1) return digits >= 8;
  return groupDigits[0]! <= 3;
}

function nationalPhone(text: string, p: number, groups: number, digits: number, paren: number): boolean {
  // North American numbering plan: [1] (AAA) EEE-NNNN.
  const skip = groups === 4 && groupDigits[0] === 1 && text.charCodeAt(p) === 49 ? 1 : 0;
  if (groups - skip === 3 && groupDigits[skip] === 3 && groupDigits[skip + 1] === 3 && groupDigits[skip + 2] === 4) {
    if (paren === skip) return groupSep[skip + 1] !== 0;
    if (paren >= 0) return false;
    const sep = groupSep[skip];
    return groupSep[skip + 1] === sep && (skip === 0 || groupSep[0] === sep);
  }
  // Trunk-prefixed national numbers (Europe and most of the world outside NANP).
  const first = paren === 0 ? p + 1 : p;
  if (text.charCodeAt(first) !== 48 || groups < 2 || digits < 9 || digits > 12) return false;
  let sep = -1;
  for (let g = 0; g < groups; g++) {
    if (groupDigits[g]! < 2) return false;
    if (g === groups - 1 || (g === paren && groupSep[g] === 0)) continue;
    const s = groupSep[g]!;
    if (s === DOT) return false;
    if (sep < 0) sep = s;
    else if (s !== sep && g !== paren) return false;
  }
  return true;
}
