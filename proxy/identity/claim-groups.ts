import { AuthError } from './auth-error.js';

// Groups come from claims through templates such as "repo:{repository}". A template only yields
// a group when every placeholder has a real value: "env:" from a missing `environment` would
// match policy written for some other, empty environment, so it yields nothing instead.

export type ClaimValue = string | number | boolean;

/** Above this, the token is refused: silently dropping groups could skip a deny rule. */
export const MAX_GROUPS = 1_000;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;

/** The groups the templates give for these claims, deduplicated, in template order. */
export function groupsFromClaims(templates: readonly string[], claims: Readonly<Record<string, unknown>>): string[] {
  const groups = new Set<string>();
  for (const template of templates) {
    for (const group of expandTemplate(template, claims)) {
      if (group === '') continue;
      groups.add(group);
      if (groups.size > MAX_GROUPS) {
        throw new AuthError(
          'invalid_claim',
          `the token's claims expand to more than ${MAX_GROUPS} groups; check identity.oidc[].groups templates that use list claims`,
        );
      }
    }
  }
  return [...groups];
}

/**
 * One template's groups: none when a placeholder's claim is missing or unusable, one per
 * element for a list claim (the cartesian product when several placeholders name lists).
 */
export function expandTemplate(template: string, claims: Readonly<Record<string, unknown>>): string[] {
  // Split into literal text and placeholder names: odd indexes are placeholder names.
  const parts = template.split(PLACEHOLDER);
  let results = [''];
  for (const [index, part] of parts.entries()) {
    if (index % 2 === 0) {
      results = results.map((prefix) => prefix + part);
      continue;
    }
    const values = placeholderValues(claimAt(claims, part));
    if (values.length === 0) return [];
    results = results.flatMap((prefix) => values.map((value) => prefix + value));
    if (results.length > MAX_GROUPS) {
      throw new AuthError('invalid_claim', `group template "${template}" expands to more than ${MAX_GROUPS} groups`);
    }
  }
  return results;
}

/** The listed claims whose values are strings, numbers or booleans; everything else is dropped. */
export function selectClaims(payload: Readonly<Record<string, unknown>>, names: readonly string[]): Record<string, ClaimValue> {
  const selected: Record<string, ClaimValue> = {};
  for (const name of names) {
    if (!Object.hasOwn(payload, name)) continue;
    const value = payload[name];
    if (isScalar(value)) selected[name] = value;
  }
  return selected;
}

/**
 * A claim by name. A dotted name is first read as a literal key, then as a path into nested
 * objects (Keycloak's `realm_access.roles`). Own properties only: `{constructor}` must not reach
 * Object.prototype.
 */
function claimAt(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let current: unknown = claims;
  for (const key of name.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function placeholderValues(value: unknown): string[] {
  if (Array.isArray(value)) return [...new Set(value.map(scalarText).filter((text) => text !== undefined))];
  const text = scalarText(value);
  return text === undefined ? [] : [text];
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

function isScalar(value: unknown): value is ClaimValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}
