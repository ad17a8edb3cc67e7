import { READ_ONLY_FUNCTIONS } from './read-only-functions.js';

/**
 * The configured dangerous-function list, compiled once. An entry without a schema matches the
 * function in any schema (extensions such as dblink live wherever they were installed); an
 * entry with one (`app.purge`) matches that schema and unqualified calls, since the gateway
 * cannot tell which schema an unqualified call resolves to. A trailing `*` matches a prefix.
 * Names are compared lower-cased, so a quoted "PG_READ_FILE" matches too (it over-matches,
 * which is the safe way to be wrong for a deny list).
 */
export class DangerousFunctions {
  readonly #names = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #qualifiedNames = new Set<string>();
  readonly #qualifiedPrefixes: { readonly schema: string; readonly prefix: string }[] = [];

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      const prefix = entry.endsWith('*');
      const pattern = prefix ? entry.slice(0, -1) : entry;
      const dot = pattern.lastIndexOf('.');
      if (dot < 0) {
        if (prefix) this.#prefixes.push(pattern);
        else this.#names.add(pattern);
      } else if (prefix) {
        this.#qualifiedPrefixes.push({ schema: pattern.slice(0, dot), prefix: pattern.slice(dot + 1) });
      } else {
        this.#qualifiedNames.add(pattern);
      }
    }
  }

  /** `parts` is the call's name as the parser gives it: `[function]` or `[schema, function]`. */
  matches(parts: readonly string[]): boolean {
    const name = parts.at(-1)?.toLowerCase();
    if (name === undefined) return false;
    const schema = parts.length >= 2 ? parts.at(-2)!.toLowerCase() : undefined;
    if (this.#names.has(name)) return true;
    for (const prefix of this.#prefixes) if (name.startsWith(prefix)) return true;
    if (this.#qualifiedNames.size > 0) {
      if (schema === undefined) {
        for (const qualified of this.#qualifiedNames) if (qualified.endsWith(`.${name}`)) return true;
      } else if (this.#qualifiedNames.has(`${schema}.${name}`)) return true;
    }
    for (const entry of this.#qualifiedPrefixes) {
      if ((schema === undefined || schema === entry.schema) && name.startsWith(entry.prefix)) return true;
    }
    return false;
  }
}

/** A built-in that cannot write: unqualified or pg_catalog-qualified, on the read-only list. */
export function isReadOnlyFunction(parts: readonly string[]): boolean {
  if (parts.length === 1) return READ_ONLY_FUNCTIONS.has(parts[0]!);
  return parts.length === 2 && parts[0] === 'pg_catalog' && READ_ONLY_FUNCTIONS.has(parts[1]!);
}
