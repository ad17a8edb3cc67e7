import type { Detector, DetectorMatch } from '../masking-types.js';
import { forEachAssignment, KeyNames } from './assignments.js';
import { isUnsafeInMatch } from './chars.js';
import { characterClasses, shannonEntropy } from './entropy.js';
import { privateKeyEndAt } from './private-key.js';

// Secrets recognisable only by the name they are stored under: `password=...`,
// `"api_key": "..."`, `client_secret: ...`, `token => ...`. The match is the value alone.
//
// A value counts as a secret when it is at least 8 characters long and looks random: Shannon
// entropy of 3 bits per character or more, or two or more of lowercase, uppercase, digits and
// symbols. So `password=changeme` (one class, 2.75 bits) and `hunter2` (7 characters) are not
// masked, `Password1` and `s3cr3t-v4lue` are. Placeholders never count: `null`, `true`, `false`,
// `<redacted>`, `[hidden]`, `${DB_PASSWORD}`, `{{ vault }}`, `********`, and a name followed by `(`
// (a call in code, `password = getPassword()`).

const MIN_LENGTH = 8;
const MAX_VALUE = 4096;

// Key names, lowercase. A name may carry a prefix (`DB_PASSWORD`, `access_token`, `x-api-key`,
// `accessToken`): see KeyNames.
const KEYS = new KeyNames([
  'password', 'passwd', 'passphrase', 'pass', 'pwd', 'secret', 'secret_key', 'secretkey', 'secret-key',
  'api_key', 'apikey', 'api-key', 'private_key', 'privatekey', 'private-key', 'token', 'authorization',
  'credential', 'credentials',
]);

const AUTH_SCHEME = /(?:Bearer|Basic|Token|Digest) +/iy;
const PLACEHOLDER_WORD = /^(?:null|nil|none|true|false|undefined|redacted|hidden|masked|removed|changeme|example|placeholder|password|secret|\*+|x+|\.+|-+|_+)$/i;

export const keyedSecretDetector: Detector = {
  name: 'keyed_secret',
  find(text: string, out: DetectorMatch[]): void {
    forEachAssignment(text, KEYS, readValue, out);
  },
};

/** Reads the value at `at` (quoted or not), adds it to `out` when it is a secret; returns its end. */
function readValue(text: string, at: number, out: DetectorMatch[]): number {
  const c = text.charCodeAt(at);
  if (c === 34 || c === 39) return quotedValue(text, at + 1, c, false, out);
  if (c === 92 && (text.charCodeAt(at + 1) === 34 || text.charCodeAt(at + 1) === 39)) return quotedValue(text, at + 2, text.charCodeAt(at + 1), true, out);
  return unquotedValue(text, at, out);
}

/** Reads an unquoted value at `start`, adds it to `out` when it is a secret; returns its end. */
function unquotedValue(text: string, start: number, out: DetectorMatch[]): number {
  const pem = text.charCodeAt(start) === 45 ? privateKeyEndAt(text, start) : -1;
  if (pem > 0) return push(out, start, pem);
  const s = afterAuthScheme(text, start);
  let e = s;
  while (e < text.length && e - s < MAX_VALUE && !endsUnquoted(text.charCodeAt(e))) e++;
  if (text.charCodeAt(e) === 40) return e; // `(`: a call, not a value
  if (looksSecret(text.slice(s, e))) push(out, s, e);
  return e;
}

// Whitespace, quotes, backslash and the punctuation that ends a value in a query string, a list
// or code: `&`, `,`, `;`, `(`, `)`, `<`, `>`, `[`, `]`, `{`, `}`.
const endsUnquoted = (c: number): boolean =>
  c <= 32 || isUnsafeInMatch(c) || c === 39 || c === 38 || c === 44 || c === 59 || c === 40 || c === 41 || c === 60 || c === 62 || c === 91 || c === 93 || c === 123 || c === 125;

/**
 * Reads a quoted value from `start` (after the opening quote) to the `close` quote character;
 * when the opening quote was escaped (`\"`, JSON inside a JSON string) to the next backslash. A
 * match may not contain a backslash, so a value with escapes (`"ab\"cd"`) is masked as the
 * pieces between them.
 */
function quotedValue(text: string, start: number, close: number, escapedQuote: boolean, out: DetectorMatch[]): number {
  const pem = text.charCodeAt(start) === 45 ? privateKeyEndAt(text, start) : -1;
  if (pem > 0) return push(out, start, pem);
  const s = afterAuthScheme(text, start);
  let e = s;
  const limit = Math.min(text.length, s + MAX_VALUE);
  while (e < limit) {
    const c = text.charCodeAt(e);
    if (c === close || (c === 92 && escapedQuote) || (c < 32 && c !== 9)) break;
    e += c === 92 ? 2 : 1;
  }
  e = Math.min(e, limit);
  if (!looksSecret(text.slice(s, e))) return e;
  // The pieces between escapes (and tabs, which are control characters too).
  let piece = s;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c !== 92 && c !== 9) continue;
    if (i > piece) push(out, piece, i);
    if (c === 92) i += text.charCodeAt(i + 1) === 117 ? 5 : 1;
    piece = i + 1;
  }
  if (e > piece) push(out, piece, e);
  return e;
}

/** Past an HTTP auth scheme (`Bearer `, `Basic `...) at `start`: the credential is what follows. */
function afterAuthScheme(text: string, start: number): number {
  const c = text.charCodeAt(start) | 0x20;
  if (c !== 98 && c !== 116 && c !== 100) return start; // b, t, d
  AUTH_SCHEME.lastIndex = start;
  return AUTH_SCHEME.test(text) ? AUTH_SCHEME.lastIndex : start;
}

function push(out: DetectorMatch[], start: number, end: number): number {
  out.push({ start, end, detector: 'keyed_secret' });
  return end;
}

/** True when a value behind a key name is worth masking (see the file comment). */
export function looksSecret(value: string): boolean {
  if (value.length < MIN_LENGTH) return false;
  const first = value.charCodeAt(0);
  // `<redacted>`, `[hidden]`, `${VAR}`, `$VAR`, `{{ var }}`, `%(name)s`, `%s`.
  if (first === 60 || first === 91 || first === 36 || first === 123 || first === 37) return false;
  // The placeholder words are short; runs of one character are any length.
  if ((value.length <= 11 || value.charCodeAt(1) === value.charCodeAt(0)) && PLACEHOLDER_WORD.test(value)) return false;
  return characterClasses(value) >= 2 || shannonEntropy(value) >= 3;
}
