import { RE2 } from 're2-wasm';
import type { Detector, DetectorMatch } from './masking-types.js';

// Custom detectors from config patterns, run by RE2 (re2-wasm): matching is linear in the text
// whatever the pattern, so no user regex can stall the gateway (`(a+)+$` included). Syntax is
// RE2's: no lookaround, no backreferences.
//
// Two properties of re2-wasm shape the scan. Its offsets count code points, not UTF-16 units,
// so they are converted when the text has astral characters. And every call copies the whole
// input into WebAssembly memory, so calling it once per match on a long text would be quadratic
// (4.5 s for 1,000 matches in 1 MB). A long text is therefore searched in windows of WINDOW to
// MAX_WINDOW characters (plus one character of context before, for `\b` and `^`). A match that comes
// within OVERLAP characters of a window's end (where `$`, `\b` or a greedy repetition could see
// the window's edge instead of the text) is looked for again from its start, in windows that
// double until the match ends well inside one or a window reaches the end of the text. So the
// matches are the whole text's, except that with alternatives of very different lengths
// (`a.*b|a`) a preferred match longer than OVERLAP may be missed for a shorter one.

// Each exec costs about 18 µs plus 23 ns per character searched (measured): windows start
// small after a match, where the next one is often near, and double while nothing matches.
const WINDOW = 4096;
const MAX_WINDOW = 65_536;
const OVERLAP = 1024;
const SURROGATE = /[\uD800-\uDFFF]/;

// Strings a pattern must not match with an empty match: `x*`, `a|`, `\b`, `^`, `$`.
const EMPTY_PROBES = ['', ' ', 'a', 'A', '0', '_', '-', 'a b', ' a', 'a '];

/** Why `pattern` cannot be a custom detector (RE2's reason, or that it matches nothing), or undefined. */
export function patternProblem(pattern: string): string | undefined {
  try {
    compileCustomPattern(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A detector named `custom` for an RE2 pattern; throws an Error saying why when the pattern is not usable. */
export function compileCustomPattern(pattern: string): Detector {
  let re: RE2;
  try {
    re = new RE2(pattern, 'gu');
  } catch (error) {
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/gu: /s, '');
    throw new Error(`invalid masking pattern ${JSON.stringify(pattern)}: ${reason} (patterns use RE2 syntax: no lookaround or backreferences)`, { cause: error });
  }
  for (const probe of EMPTY_PROBES) {
    re.lastIndex = 0;
    const m = re.exec(probe);
    if (m !== null && m[0] === '') {
      throw new Error(`masking pattern ${JSON.stringify(pattern)} matches the empty string, so it would mask nothing: make it match at least one character (e.g. \`x+\` instead of \`x*\`)`);
    }
  }
  return {
    name: 'custom',
    find: (text, out) => findAll(re, text, out),
  };
}

function findAll(re: RE2, text: string, out: DetectorMatch[]): void {
  const n = text.length;
  if (n === 0) return;
  const astral = SURROGATE.test(text);
  let pos = 0;
  let size = WINDOW;
  while (pos < n) {
    const ctx = pos === 0 ? pos : pos - (isLowSurrogateAt(text, pos - 1) ? 2 : 1);
    let winEnd = Math.min(n, pos + size);
    if (winEnd < n && isLowSurrogateAt(text, winEnd)) winEnd++;
    const window = ctx === 0 && winEnd === n ? text : text.slice(ctx, winEnd);
    re.lastIndex = ctx < pos ? 1 : 0;
    const m = re.exec(window);
    if (m === null) {
      if (winEnd === n) return;
      pos = Math.max(pos + 1, winEnd - OVERLAP);
      size = Math.min(size * 2, MAX_WINDOW);
      continue;
    }
    const start = ctx + (astral ? utf16Offset(window, m.index) : m.index);
    const end = start + m[0]!.length;
    if (end > winEnd - OVERLAP && winEnd < n) {
      // Too close to the window's edge to trust: again from the match, in a larger window if
      // the match already starts the window.
      if (start > pos) pos = start;
      else size *= 2;
      continue;
    }
    size = WINDOW;
    if (end === start) {
      // RE2 found an empty match the probes did not catch: step over one character.
      pos = start + (isLowSurrogateAt(text, start + 1) ? 2 : 1);
      continue;
    }
    pushSafePieces(text, start, end, out);
    pos = end;
  }
}

const isLowSurrogateAt = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
};

/** The UTF-16 offset of code point `cp` in `text`. */
function utf16Offset(text: string, cp: number): number {
  let i = 0;
  for (let k = 0; k < cp && i < text.length; k++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && isLowSurrogateAt(text, i + 1) ? 2 : 1;
  }
  return i;
}

/**
 * Adds `[start, end)` as matches, minus any `"`, `\` or control character: a user pattern may
 * match them, but a match that contains them could break the JSON text it is replaced in.
 */
function pushSafePieces(text: string, start: number, end: number, out: DetectorMatch[]): void {
  let piece = start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 34 && c !== 92 && c >= 32 && c !== 127) continue;
    if (i > piece) out.push({ start: piece, end: i, detector: 'custom' });
    piece = i + 1;
  }
  if (end > piece) out.push({ start: piece, end, detector: 'custom' });
}
