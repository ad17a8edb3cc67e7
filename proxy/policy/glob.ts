// Config lists of exact values and `*` globs, compiled once into a Set and one RegExp so that
// matching on the hot path is a hash lookup, then (only when globs exist) one regex test.

/** Tells whether a value matches any entry of a compiled list. */
export type Matcher = (value: string) => boolean;

export interface MatcherOptions {
  /** Compare case-insensitively (restrictive rules: `public.Users` must still catch `public.users`). */
  readonly ignoreCase?: boolean;
}

const matchAll: Matcher = () => true;

/** `*` matches any run of characters (including none and `.`); everything else is literal. */
export function compileMatcher(patterns: readonly string[], options: MatcherOptions = {}): Matcher {
  if (patterns.includes('*')) return matchAll;
  const fold = options.ignoreCase === true;
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const pattern of patterns) {
    if (pattern.includes('*')) globs.push(pattern.split('*').map(escapeRegExp).join('.*'));
    else exact.add(fold ? pattern.toLowerCase() : pattern);
  }
  const regex = globs.length > 0 ? new RegExp(`^(?:${globs.join('|')})$`, fold ? 'is' : 's') : undefined;
  if (!fold) return regex ? (value) => exact.has(value) || regex.test(value) : (value) => exact.has(value);
  return (value) => exact.has(value) || exact.has(value.toLowerCase()) || (regex !== undefined && regex.test(value));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
