import { isCatalogRelation } from './catalog-relations.js';

/**
 * Splits a search_path the way PostgreSQL reports it (`"$user", public`): comma-separated
 * identifiers, unquoted ones folded to lower case, double-quoted ones kept as written with `""`
 * as an escaped quote. This is a GUC list, not SQL, so a small scanner is the right tool.
 */
export function parseSearchPath(searchPath: string): string[] {
  const schemas: string[] = [];
  let index = 0;
  const length = searchPath.length;
  while (index < length) {
    while (index < length && isSpace(searchPath.charCodeAt(index))) index++;
    if (index >= length) break;
    let name = '';
    if (searchPath[index] === '"') {
      index++;
      while (index < length) {
        const char = searchPath[index]!;
        index++;
        if (char !== '"') name += char;
        else if (searchPath[index] === '"') {
          name += '"';
          index++;
        } else break;
      }
      while (index < length && searchPath[index] !== ',') index++;
    } else {
      const start = index;
      while (index < length && searchPath[index] !== ',') index++;
      name = trimSpaces(searchPath.slice(start, index)).toLowerCase();
    }
    if (name !== '') schemas.push(name);
    index++; // the comma
  }
  return schemas;
}

/**
 * The schema an unqualified relation name is taken to live in. The gateway cannot see the
 * catalog, so it cannot know which schemas on the path exist or hold the name; the rule is:
 * the first search_path entry that is not `$user`, `pg_catalog` or `pg_temp`. `"$user"` is
 * skipped because a schema named after the user rarely exists (PostgreSQL skips it too when it
 * does not); it is used only when nothing else is on the path. LIMITATION: where a schema named
 * after the user does exist and holds the name, PostgreSQL resolves to it and the gateway
 * reports the next schema instead. An empty path resolves only in pg_catalog.
 */
export function defaultSchema(searchPath: string, user: string): string {
  let sawUser = false;
  for (const schema of parseSearchPath(searchPath)) {
    if (schema === '$user') sawUser = true;
    else if (schema !== 'pg_catalog' && schema !== 'pg_temp') return schema;
  }
  return sawUser && user !== '' ? user : 'pg_catalog';
}

/**
 * Resolves relation names for one statement. PostgreSQL searches pg_catalog before the path
 * (unless the path lists it later), so unqualified system catalogs and views (pg_class,
 * pg_authid, pg_stat_activity) are pg_catalog's; temporary relations live in pg_temp.
 * LIMITATION: an unqualified name that refers to an existing temporary table is reported in
 * the default schema: the gateway does not track the session's temporary tables.
 */
export class RelationNames {
  constructor(readonly schema: string) {}

  /** `schema.name` for a RangeVar's parts; a three-part `db.schema.name` drops the database. */
  qualify(schemaname: string | undefined, relname: string, temporary = false): string {
    return `${this.schemaOf(schemaname, relname, temporary)}.${relname}`;
  }

  schemaOf(schemaname: string | undefined, relname: string, temporary = false): string {
    if (schemaname !== undefined && schemaname !== '') return schemaname;
    if (temporary) return 'pg_temp';
    return isCatalogRelation(relname) ? 'pg_catalog' : this.schema;
  }

  /** A name given as a list of identifiers (DROP TABLE, COMMENT ON): `[db.][schema.]name`. */
  qualifyParts(parts: readonly string[]): string | undefined {
    const name = parts.at(-1);
    if (name === undefined) return undefined;
    return this.qualify(parts.length >= 2 ? parts.at(-2) : undefined, name);
  }
}

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

function trimSpaces(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

let memo: { searchPath: string; user: string; names: RelationNames } | undefined;

/** RelationNames for a session; sessions rarely change search_path, so the last one is kept. */
export function relationNamesFor(searchPath: string, user: string): RelationNames {
  if (memo?.searchPath !== searchPath || memo.user !== user) memo = { searchPath, user, names: new RelationNames(defaultSchema(searchPath, user)) };
  return memo.names;
}
