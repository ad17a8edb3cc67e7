import type { z } from 'zod';
import type { ConfigPath } from './secret-refs.js';

// "unknown key 'polcy' (did you mean 'policy'?)": the keys a schema allows at a path, found by
// walking zod's definitions, and the nearest one to a misspelt key.

type AnyDef = { type: string } & Record<string, unknown>;

function defOf(schema: unknown): AnyDef | undefined {
  return (schema as { _zod?: { def?: AnyDef } } | undefined)?._zod?.def;
}

/** Object schemas reachable from `schema` through wrappers (optional, default, pipe, union...). */
function objectsIn(schema: unknown, seen = new Set<unknown>()): AnyDef[] {
  const def = defOf(schema);
  if (!def || seen.has(def)) return [];
  seen.add(def);
  switch (def.type) {
    case 'object':
      return [def];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return objectsIn(def.innerType, seen);
    case 'pipe':
      return [...objectsIn(def.in, seen), ...objectsIn(def.out, seen)];
    case 'union':
      return (def.options as unknown[]).flatMap((option) => objectsIn(option, seen));
    default:
      return [];
  }
}

function childSchemas(schema: unknown, key: string | number): unknown[] {
  const results: unknown[] = [];
  const visit = (node: unknown, seen: Set<unknown>): void => {
    const def = defOf(node);
    if (!def || seen.has(def)) return;
    seen.add(def);
    if (def.type === 'object' && typeof key === 'string') {
      const child = (def.shape as Record<string, unknown>)[key];
      if (child) results.push(child);
    } else if (def.type === 'array' && typeof key === 'number') {
      results.push(def.element);
    } else if (def.type === 'record' && typeof key === 'string') {
      results.push(def.valueType);
    } else if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch'].includes(def.type)) {
      visit(def.innerType, seen);
    } else if (def.type === 'pipe') {
      visit(def.in, seen);
      visit(def.out, seen);
    } else if (def.type === 'union') {
      for (const option of def.options as unknown[]) visit(option, seen);
    }
  };
  visit(schema, new Set());
  return results;
}

/** Every key the schema accepts in the object at `path`. */
export function knownKeysAt(schema: z.ZodType, path: ConfigPath): string[] {
  let nodes: unknown[] = [schema];
  for (const part of path) nodes = nodes.flatMap((node) => childSchemas(node, part));
  return [...new Set(nodes.flatMap((node) => objectsIn(node)).flatMap((def) => Object.keys(def.shape as object)))];
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
