import type { Effect } from './explanation.js';

// Reading policy.view's rules (typed loosely by the API: `Record<string, unknown>`) and the
// explain form's identity fields, and config values in the words the config uses.

export interface RuleView {
  readonly name: string;
  readonly effect: Effect;
  readonly reason?: string;
  readonly sessionGrantMs?: number;
  readonly groups?: readonly string[];
  readonly subjects?: readonly string[];
  readonly claims?: Readonly<Record<string, readonly string[]>>;
  readonly resources?: readonly string[];
  readonly kinds?: readonly string[];
  readonly relations?: readonly string[];
  readonly flags?: readonly string[];
  /** HTTP resources: request methods, path globs and JSON body fields. */
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
  readonly fields?: readonly string[];
}

/** A rule from policy.view; an unknown effect reads as deny, the safe way to misread it. */
export function readRule(value: Readonly<Record<string, unknown>>): RuleView {
  const match = isRecord(value.match) ? value.match : {};
  const list = (key: string): readonly string[] | undefined => {
    const item = match[key];
    return Array.isArray(item) ? item.map(String) : undefined;
  };
  const claims = isRecord(match.claims)
    ? Object.fromEntries(Object.entries(match.claims).map(([claim, wanted]) => [claim, Array.isArray(wanted) ? wanted.map(String) : [String(wanted)]]))
    : undefined;
  const effect = value.effect === 'allow' || value.effect === 'approve' ? value.effect : 'deny';
  return {
    name: String(value.name ?? '(unnamed)'),
    effect,
    ...(typeof value.reason === 'string' && { reason: value.reason }),
    ...(typeof value.session_grant_ms === 'number' && { sessionGrantMs: value.session_grant_ms }),
    ...optional('groups', list('groups')),
    ...optional('subjects', list('subjects')),
    ...(claims && { claims }),
    ...optional('resources', list('resources')),
    ...optional('kinds', list('kinds')),
    ...optional('relations', list('relations')),
    ...optional('flags', list('flags')),
    ...optional('methods', list('methods')),
    ...optional('paths', list('paths')),
    ...optional('fields', list('fields')),
  };
}

function optional<K extends string>(key: K, value: readonly string[] | undefined): { [P in K]?: readonly string[] } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: readonly string[] };
}

/** How the screen names an effect: a word that cannot be misread for another. */
export const EFFECT_WORDS: Readonly<Record<Effect, { readonly badge: string; readonly verdict: string }>> = {
  allow: { badge: 'allow', verdict: 'Allowed' },
  approve: { badge: 'needs approval', verdict: 'Held for approval' },
  deny: { badge: 'deny', verdict: 'Denied' },
};

/** Groups typed as "ci, dba" (commas or new lines). */
export function parseGroups(input: string): string[] {
  return [...new Set(input.split(/[,\n]/).map((group) => group.trim()).filter((group) => group !== ''))];
}

/** Claims typed one `key=value` per line; the problem names the line. */
export function parseClaims(input: string): { claims: Record<string, string> } | { problem: string } {
  const claims: Record<string, string> = {};
  const lines = input.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    const key = equals < 0 ? '' : line.slice(0, equals).trim();
    if (key === '') return { problem: `line ${index + 1}: "${line}" is not key=value (e.g. environment=production)` };
    if (Object.hasOwn(claims, key)) return { problem: `line ${index + 1}: claim "${key}" is given twice` };
    claims[key] = line.slice(equals + 1).trim();
  }
  return { claims };
}

/** A config duration as the config would write it: "10 min", "1 h 30 min", "45 s", "250 ms". */
export function configDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count} ${unit}`);
    rest -= count * size;
  }
  if (rest > 0) parts.push(`${rest} ms`);
  return parts.join(' ');
}

/** Bytes as the config would write them: "50 MB", "2 KiB", "1234 bytes". */
export function configSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['GB', 1e9], ['MiB', 2 ** 20], ['MB', 1e6], ['KiB', 1024], ['KB', 1000]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes.toLocaleString()} bytes`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
