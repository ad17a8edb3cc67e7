import { isAsciiAlnum, isDigit } from './chars.js';

// `key = value` in the forms config files, env files, query strings, JSON, YAML, HTTP headers
// and code use: `key=value`, `key: value`, `"key": "value"`, `key => value`, `key := value`.
// Found from each `=` and `:` (indexOf is far cheaper than a case-insensitive RegExp tried at
// every letter), looking back for a key name and forward for the value.

const COLON = 58;
const EQUALS = 61;

/** A set of key names, lowercase, matched case-insensitively at the end of the word before a separator. */
export class KeyNames {
  readonly #names: readonly string[];
  /** The last letters of the names: most separators are rejected on one lookup. */
  readonly #lastLetters = new Uint8Array(128);

  constructor(names: readonly string[]) {
    this.#names = names;
    for (const name of names) this.#lastLetters[name.charCodeAt(name.length - 1)] = 1;
  }

  /**
   * True when a name ends at `end`, starting a word: after a non-alphanumeric (`db_password`,
   * `x-api-key`) or as a camelCase part (`dbPassword`, `accessToken`).
   */
  endsAt(text: string, end: number): boolean {
    const last = text.charCodeAt(end - 1);
    if (this.#lastLetters[last >= 65 && last <= 90 ? last | 0x20 : last & 127] !== 1) return false;
    for (const name of this.#names) if (endsWithName(text, end, name)) return true;
    return false;
  }
}

function endsWithName(text: string, end: number, name: string): boolean {
  const start = end - name.length;
  if (start < 0) return false;
  for (let k = 0; k < name.length; k++) {
    const c = text.charCodeAt(start + k);
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== name.charCodeAt(k)) return false;
  }
  if (start === 0) return true;
  const before = text.charCodeAt(start - 1);
  if (!isAsciiAlnum(before)) return true;
  const first = text.charCodeAt(start);
  return first >= 65 && first <= 90 && ((before >= 97 && before <= 122) || isDigit(before));
}

/**
 * Calls `visit(text, valueStart, out)` for each value assigned to a key in `keys`; `visit`
 * returns where scanning resumes (the value's end). `out` is passed through so callers need no
 * closure (no allocation when nothing matches).
 */
export function forEachAssignment<T>(text: string, keys: KeyNames, visit: (text: string, valueStart: number, out: T) => number, out: T): void {
  let eq = text.indexOf('=');
  let colon = text.indexOf(':');
  while (eq >= 0 || colon >= 0) {
    const sep = colon < 0 || (eq >= 0 && eq < colon) ? eq : colon;
    let next = sep + 1;
    if (keys.endsAt(text, keyEnd(text, sep))) {
      const at = valueStart(text, sep);
      if (at > 0) next = Math.max(next, visit(text, at, out));
    }
    if (eq >= 0 && eq < next) eq = text.indexOf('=', next);
    if (colon >= 0 && colon < next) colon = text.indexOf(':', next);
  }
}

/**
 * Where the value after the separator at `sep` starts (after `=>`, `:=`, blanks), or -1 when
 * `sep` is not an assignment (`==`, `!=`, `<=`, `::`, `http://`) or nothing follows.
 */
function valueStart(text: string, sep: number): number {
  const c = text.charCodeAt(sep);
  let i = sep + 1;
  const next = text.charCodeAt(i);
  if (c === EQUALS) {
    const prev = text.charCodeAt(sep - 1);
    if (prev === EQUALS || prev === 33 || prev === 60 || prev === 62 || prev === COLON) return -1;
    if (next === EQUALS) return -1;
    if (next === 62) i++; // =>
  } else {
    if (next === COLON || next === 47) return -1;
    if (next === EQUALS) i++; // :=
  }
  while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
  return i < text.length ? i : -1;
}

/** Where the key before the separator at `sep` ends: before blanks and a closing (maybe escaped) quote. */
function keyEnd(text: string, sep: number): number {
  let end = sep;
  while (end > 0 && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  const q = text.charCodeAt(end - 1);
  if (q === 34 || q === 39) {
    end--;
    if (text.charCodeAt(end - 1) === 92) end--;
  }
  return end;
}
