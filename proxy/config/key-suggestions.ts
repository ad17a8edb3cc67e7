import type { z } from 'zod';
import type { ConfigPath } from './secret-refs.js';

// "unknown key 'polcy' (did you mean 'policy'?)": the keys a schema allows at a path, found by
// walking zod's definitions, and the nearest one to a misspelt key.

type AnyDef = { type: string } & Record<string, unknown>;

function defOf(schema: unknown): AnyDef | undefined {
  return (schema as { _zod?: { def?: AnyDef } } | undefined)?._zod?.def;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** The schemas a wrapper, pipe or union stands for; empty for anything else. */
function innerSchemas(def: AnyDef): unknown[] {
  if (WRAPPERS.has(def.type)) return [def.innerType];
  if (def.type === 'pipe') return [def.in, def.out];
  if (def.type === 'union') return def.options as unknown[];
  return [];
}

/** The definitions reachable from `schema` through wrappers, pipes and unions, itself included. */
function reachableDefs(schema: unknown, seen = new Set<AnyDef>()): AnyDef[] {
  const def = defOf(schema);
  if (!def || seen.has(def)) return [];
  seen.add(def);
  return [def, ...innerSchemas(def).flatMap((inner) => reachableDefs(inner, seen))];
}

/** The schemas for `key` inside whatever `schema` accepts (object field, array element, record value). */
function childSchemas(schema: unknown, key: string | number): unknown[] {
  return reachableDefs(schema).flatMap((def) => {
    if (def.type === 'object' && typeof key === 'string') return [(def.shape as Record<string, unknown>)[key]].filter(Boolean);
    if (def.type === 'array' && typeof key === 'number') return [def.element];
    if (def.type === 'record' && typeof key === 'string') return [def.valueType];
    return [];
  });
}

/** Every key the schema accepts in the object at `path`. */
export function knownKeysAt(schema: z.ZodType, path: ConfigPath): string[] {
  let nodes: unknown[] = [schema];
  for (const part of path) nodes = nodes.flatMap((node) => childSchemas(node, part));
  const objects = nodes.flatMap((node) => reachableDefs(node)).filter((def) => def.type === 'object');
  return [...new Set(objects.flatMap((def) => Object.keys(def.shape as object)))];
}

/** The known key nearest to `key` (edit distance at most 2, or a case-insensitive match). */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
