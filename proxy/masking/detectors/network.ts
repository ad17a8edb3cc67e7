import type { Detector, DetectorMatch } from '../masking-types.js';
import { isDigit, isHexDigit, isWordChar } from './chars.js';

// IP addresses. IPv4 is a RegExp plus an octet check; IPv6 is scanned by hand from each `:`,
// because its compressed forms are easy to validate by structure and hard to write as a
// RegExp that neither backtracks nor matches times and C++ scopes.

const DOT = 46;
const COLON = 58;
const PERCENT = 37;

// Boundaries are checked in code: a lookbehind at the start slows the engine's scan.
const IPV4_CANDIDATE = /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/g;

/**
 * IPv4 dotted quads: four octets 0-255 without leading zeros, not part of a longer dotted number
 * (`1.2.3.4.5` is a version) nor touching letters or digits.
 */
export const ipv4Detector: Detector = {
  name: 'ipv4',
  find(text: string, out: DetectorMatch[]): void {
    const re = IPV4_CANDIDATE;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const end = m.index + m[0].length;
      if (ipv4Bounded(text, m.index, end) && ipv4Valid(text, m.index, end)) out.push({ start: m.index, end, detector: 'ipv4' });
    }
  },
};

/** Not part of a longer dotted number or word: `1.2.3.4.5`, `v1.2.3.4`, `11.2.3.4` seen from `1.2.3.4`. */
function ipv4Bounded(text: string, start: number, end: number): boolean {
  const before = start > 0 ? text.charCodeAt(start - 1) : 32;
  if (isWordChar(before) || before === DOT) return false;
  if (end >= text.length) return true;
  const after = text.charCodeAt(end);
  return !(isWordChar(after) || (after === DOT && isDigit(text.charCodeAt(end + 1))));
}

/** True when `[start, end)` is a dotted quad of valid octets (the shape is already checked). */
function ipv4Valid(text: string, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    let k = i;
    let value = 0;
    while (k < end && isDigit(text.charCodeAt(k))) value = value * 10 + (text.charCodeAt(k++) - 48);
    if (value > 255 || (k - i > 1 && text.charCodeAt(i) === 48)) return false;
    i = k + 1;
  }
  return true;
}

/**
 * IPv6 addresses, full (eight groups) or compressed (one `::`), with an optional embedded IPv4
 * tail (`::ffff:192.0.2.1`) and zone (`fe80::1%eth0`). Groups are 1-4 hex digits. A compressed
 * address must contain a decimal digit, so C++ scopes and words like `dead::beef` are not
 * addresses; times (`12:30:45`) and MAC addresses have no `::` and fewer than eight groups.
 */
export const ipv6Detector: Detector = {
  name: 'ipv6',
  find(text: string, out: DetectorMatch[]): void {
    const n = text.length;
    let colon = text.indexOf(':');
    while (colon >= 0) {
      let s = colon;
      while (s > 0 && colon - s < 40 && isV6Char(text.charCodeAt(s - 1))) s--;
      let e = colon + 1;
      while (e < n && e - s < 46 && (isV6Char(text.charCodeAt(e)) || text.charCodeAt(e) === DOT)) e++;
      let next = e;
      if (s === 0 || !isV6Boundary(text.charCodeAt(s - 1))) {
        const end = ipv6End(text, s, e);
        if (end > 0) {
          out.push({ start: s, end, detector: 'ipv6' });
          next = end;
        }
      }
      colon = text.indexOf(':', Math.max(next, colon + 1));
    }
  },
};

const isV6Char = (c: number): boolean => isHexDigit(c) || c === COLON;
const isV6Boundary = (c: number): boolean => isWordChar(c) || c === DOT || c === COLON;
const isZoneChar = (c: number): boolean => isWordChar(c) || c === DOT || c === 45 || c === 126;

/** The end of the IPv6 address that spans `[start, limit)` (trailing dots and a lone colon trimmed), or -1. */
function ipv6End(text: string, start: number, limit: number): number {
  // The scan stopped at its length cap: too long to be one address.
  if (limit < text.length && isV6Char(text.charCodeAt(limit))) return -1;
  let end = limit;
  while (end > start && text.charCodeAt(end - 1) === DOT) end--;
  if (text.charCodeAt(end - 1) === COLON && text.charCodeAt(end - 2) !== COLON) end--;
  if (end < text.length && (isWordChar(text.charCodeAt(end)) || text.charCodeAt(end) === DOT)) return -1;
  let groups = 0;
  let compressed = false;
  let decimal = false;
  let i = start;
  if (text.charCodeAt(i) === COLON) {
    if (text.charCodeAt(i + 1) !== COLON) return -1;
    compressed = true;
    i += 2;
  }
  while (i < end) {
    let k = i;
    while (k < end && isHexDigit(text.charCodeAt(k))) {
      if (isDigit(text.charCodeAt(k))) decimal = true;
      k++;
    }
    if (k < end && text.charCodeAt(k) === DOT) {
      // An IPv4 tail: the rest must be a dotted quad, and it counts as two groups.
      if (!ipv4Tail(text, i, end)) return -1;
      groups += 2;
      decimal = true;
      break;
    }
    if (k - i < 1 || k - i > 4) return -1;
    groups++;
    if (k === end) break;
    // k is at a colon.
    if (text.charCodeAt(k + 1) === COLON) {
      if (compressed) return -1;
      compressed = true;
      i = k + 2;
    } else {
      i = k + 1;
      if (i === end) return -1;
    }
  }
  if (compressed ? groups > 7 || groups === 0 || !decimal : groups !== 8) return -1;
  if (text.charCodeAt(end) === PERCENT && isZoneChar(text.charCodeAt(end + 1))) {
    let z = end + 1;
    while (z < text.length && z - end <= 32 && isZoneChar(text.charCodeAt(z))) z++;
    return z;
  }
  return end;
}

function ipv4Tail(text: string, start: number, end: number): boolean {
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) dots++;
    else if (!isDigit(c)) return false;
  }
  if (dots !== 3) return false;
  for (let i = start; i < end; ) {
    let k = i;
    let value = 0;
    while (k < end && isDigit(text.charCodeAt(k))) value = value * 10 + (text.charCodeAt(k++) - 48);
    if (k === i || k - i > 3 || value > 255 || (k - i > 1 && text.charCodeAt(i) === 48)) return false;
    i = k + 1;
  }
  return true;
}
