import { builtinShape } from './builtin-types.js';
import type { CatalogCache, ColumnOrigin, NamedRelation, SourceColumn } from './catalog-types.js';
import type { ValueShape } from './masking-types.js';
import { NodeTreeError, parseNodeTree, type TreeNode } from './node-tree.js';
import { mergeOrigins, referencedRelations, ruleQuery, viewColumnOrigins, ViewResolutionError } from './view-origins.js';

// The upstream catalog as result masking reads it: for each relation RowDescription names, where
// its columns come from; for each user type, how it holds text.
//
// - A table, partitioned table, foreign table (any stored relation) answers its own columns,
//   system columns (ctid, attnum < 0) included, so `SELECT ctid` is described too.
// - A view answers the base-table columns its definition reads (view-origins.ts), through
//   views on views: relations are read level by level, one query per level.
// - A materialized view answers both: its own columns (rules may name `schema.matview.column`)
//   and, since it holds a copy of what its definition read, those sources too. `derived` is the
//   definition's: false when the column is a copy of one stored column.
// - Attribute number 0 (a whole-row reference) answers every column (attnum > 0), derived when
//   any of them is.
//
// Relation answers expire `ttlMs` (default 60 s) after they were read: origin() then says
// undefined and the caller loads again, so a renamed table or column, or a changed view, is seen
// within that time. `load` always reads the catalog for the relations it is given (the caller
// asks only for what origin() did not answer, e.g. a column added since). Type shapes never
// expire: a type's kind, base and element cannot change while its OID lives.
//
// Only validated integers (OIDs) are ever written into SQL, and catalog names are qualified with
// pg_catalog, so neither a search_path nor a crafted name changes what is read.

export interface CatalogCacheOptions {
  /**
   * Runs one catalog query on the side connection: rows of text cells, null for SQL NULL. Its
   * rejections are passed on as they are, so their messages must be safe to show a client
   * (CatalogConnection's are).
   */
  readonly query: (sql: string) => Promise<(string | null)[][]>;
  /** How long a relation's answer is trusted; default 60,000 ms. */
  readonly ttlMs?: number;
  readonly now?: () => number;
  /** Closes the side connection (CatalogCache.close); nothing by default. */
  readonly close?: () => Promise<void>;
  /** The resource's name, for error messages. */
  readonly resource?: string;
}

export const DEFAULT_CATALOG_TTL_MS = 60_000;

/** Views on views on ... deeper than any real schema; a bound so the walk always ends. */
const MAX_RELATION_LEVELS = 64;
/** Domains over domains over arrays of domains ...: the same bound for types. */
const MAX_TYPE_LEVELS = 64;
const MAX_OID = 0xffffffff;
/** Names kept before expired ones are swept (a statement names a handful; sessions share the cache). */
const MAX_CACHED_NAMES = 10_000;

const TEXT: ValueShape = { kind: 'text' };
const OTHER: ValueShape = { kind: 'other' };

interface Relation {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly relkind: string;
  /** attnum -> name: live user columns (> 0) and system columns (< 0). */
  readonly columns: Map<number, string>;
  /** The `_RETURN` rule's query, for views and materialized views. */
  query?: TreeNode;
}

interface CachedRelation {
  readonly loadedAt: number;
  readonly origins: ReadonlyMap<number, ColumnOrigin>;
  /** attnum -> column name. */
  readonly columns: ReadonlyMap<number, string>;
}

/** A name looked up: the relation's OID, or null when the catalog has no such relation. */
interface CachedName {
  readonly loadedAt: number;
  readonly oid: number | null;
}

interface TypeRow {
  readonly typtype: string;
  readonly typcategory: string;
  readonly typelem: number;
  readonly typbasetype: number;
  readonly typname: string;
}

/** A load failure whose message is complete: passed to the caller as it is. */
class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

export function createCatalogCache(options: CatalogCacheOptions): CatalogCache {
  return new UpstreamCatalogCache(options);
}

class UpstreamCatalogCache implements CatalogCache {
  readonly #relations = new Map<number, CachedRelation>();
  readonly #types = new Map<number, ValueShape>();
  readonly #names = new Map<string, CachedName>();
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #of: string;

  constructor(private readonly options: CatalogCacheOptions) {
    this.#ttl = options.ttlMs ?? DEFAULT_CATALOG_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#of = options.resource === undefined ? 'the upstream catalog' : `the catalog of resource "${options.resource}"`;
  }

  origin(relationOid: number, attnum: number): ColumnOrigin | undefined {
    const cached = this.#relations.get(relationOid);
    if (!cached) return undefined;
    if (this.#expired(cached)) {
      this.#relations.delete(relationOid);
      return undefined;
    }
    return cached.origins.get(attnum);
  }

  shape(typeOid: number): ValueShape | undefined {
    return builtinShape(typeOid) ?? this.#types.get(typeOid);
  }

  async load(relationOids: readonly number[], typeOids: readonly number[]): Promise<void> {
    const relations = validOids(relationOids, 'relation');
    const types = validOids(typeOids, 'type').filter((oid) => this.shape(oid) === undefined);
    try {
      await this.#loadRelations(relations);
      await this.#loadTypes(types);
    } catch (error) {
      if (error instanceof CatalogError || !(error instanceof NodeTreeError || error instanceof ViewResolutionError)) throw error;
      throw new CatalogError(`${this.#of} could not be read: ${error.message}`, { cause: error });
    }
  }

  relationsByName(names: readonly string[]): ReadonlyMap<string, NamedRelation | null> | undefined {
    const found = new Map<string, NamedRelation | null>();
    for (const name of names) {
      const cached = this.#names.get(name);
      if (!cached || this.#expired(cached)) return undefined;
      if (cached.oid === null) {
        found.set(name, null);
        continue;
      }
      const relation = this.#relations.get(cached.oid);
      if (!relation || this.#expired(relation)) return undefined;
      const columns = [...relation.columns].filter(([attnum]) => attnum > 0).sort(([a], [b]) => a - b);
      found.set(name, { columns: columns.map(([attnum, column]) => ({ name: column, origin: relation.origins.get(attnum)! })) });
    }
    return found;
  }

  async loadNames(names: readonly string[]): Promise<void> {
    const wanted = [...new Set(names)];
    if (wanted.length === 0) return;
    const parts = wanted.map(splitName);
    const rows = await this.options.query(namesSql(parts));
    const loadedAt = this.#now();
    const oids = new Map<number, number>();
    for (const row of rows) oids.set(Number(textCell(row[0])), oidCell(row[1]));
    wanted.forEach((name, index) => this.#names.set(name, { loadedAt, oid: oids.get(index + 1) ?? null }));
    if (this.#names.size > MAX_CACHED_NAMES) for (const [name, cached] of this.#names) if (this.#expired(cached)) this.#names.delete(name);
    await this.load([...oids.values()], []);
  }

  async close(): Promise<void> {
    await this.options.close?.();
  }

  #expired(cached: { readonly loadedAt: number }): boolean {
    return this.#now() - cached.loadedAt >= this.#ttl;
  }

  async #loadRelations(oids: readonly number[]): Promise<void> {
    if (oids.length === 0) return;
    const fetched = new Map<number, Relation>();
    /** Who reads a relation fetched for a view, for the message when it is gone. */
    const readers = new Map<number, Relation>();
    for (let pending = oids, level = 0; pending.length > 0; level++) {
      if (level === MAX_RELATION_LEVELS) throw new CatalogError(`${this.#of} has views nested more than ${MAX_RELATION_LEVELS} deep; Sluice does not follow them further`);
      for (const relation of parseRelations(await this.options.query(relationsSql(pending)))) fetched.set(relation.oid, relation);
      const next = new Set<number>();
      for (const oid of pending) {
        const relation = fetched.get(oid);
        if (!relation) {
          const reader = readers.get(oid);
          throw new CatalogError(
            reader
              ? `relation OID ${oid}, which view "${reader.schema}.${reader.name}" reads, no longer exists in ${this.#of}; run the statement again`
              : `relation OID ${oid} no longer exists in ${this.#of} (dropped or replaced since the statement was planned); run the statement again`,
          );
        }
        if (!isView(relation)) continue;
        if (!relation.query) throw new CatalogError(`view "${relation.schema}.${relation.name}" in ${this.#of} has no _RETURN rule to read its definition from`);
        for (const read of referencedRelations(relation.query)) {
          if (fetched.has(read)) continue;
          next.add(read);
          readers.set(read, relation);
        }
      }
      pending = [...next];
    }
    const origins = resolveOrigins(fetched, this.#of);
    const loadedAt = this.#now();
    for (const [oid, cached] of this.#relations) if (this.#expired(cached)) this.#relations.delete(oid);
    for (const [oid, relationOrigins] of origins) this.#relations.set(oid, { loadedAt, origins: relationOrigins, columns: fetched.get(oid)!.columns });
  }

  async #loadTypes(oids: readonly number[]): Promise<void> {
    if (oids.length === 0) return;
    const rows = new Map<number, TypeRow>();
    for (let pending = oids, level = 0; pending.length > 0; level++) {
      if (level === MAX_TYPE_LEVELS) throw new CatalogError(`${this.#of} has types nested more than ${MAX_TYPE_LEVELS} deep`);
      for (const row of await this.options.query(typesSql(pending))) {
        rows.set(oidCell(row[0]), { typtype: textCell(row[1]), typcategory: textCell(row[2]), typelem: oidCell(row[3]), typbasetype: oidCell(row[4]), typname: textCell(row[5]) });
      }
      const next = new Set<number>();
      for (const oid of pending) {
        const row = rows.get(oid);
        if (!row) throw new CatalogError(`type OID ${oid} no longer exists in ${this.#of} (dropped since the statement was planned); run the statement again`);
        for (const inner of [row.typtype === 'd' ? row.typbasetype : 0, row.typcategory === 'A' ? row.typelem : 0]) {
          if (inner !== 0 && !rows.has(inner) && this.shape(inner) === undefined) next.add(inner);
        }
      }
      pending = [...next];
    }
    for (const oid of rows.keys()) this.#typeShape(oid, rows);
  }

  /** A type's shape from its pg_type row: a domain is its base; an array is text-like when its element is. */
  #typeShape(oid: number, rows: ReadonlyMap<number, TypeRow>): ValueShape {
    const known = this.shape(oid);
    if (known) return known;
    const row = rows.get(oid);
    if (!row) throw new CatalogError(`type OID ${oid} was not read from ${this.#of}`);
    let shape: ValueShape;
    if (row.typtype === 'd') shape = this.#typeShape(row.typbasetype, rows);
    else if (row.typcategory === 'A' && row.typelem !== 0) {
      const element = this.#typeShape(row.typelem, rows);
      shape = element.kind === 'other' ? OTHER : { kind: 'array', element, elementOid: row.typelem };
    } else shape = row.typcategory === 'S' ? TEXT : OTHER;
    this.#types.set(oid, shape);
    return shape;
  }
}

function isView(relation: Relation): boolean {
  return relation.relkind === 'v' || relation.relkind === 'm';
}

/** Every fetched relation's column origins; views resolved through what they read, each once. */
function resolveOrigins(fetched: ReadonlyMap<number, Relation>, of: string): Map<number, Map<number, ColumnOrigin>> {
  const resolved = new Map<number, Map<number, ColumnOrigin>>();
  const resolving = new Set<number>();
  const originsOf = (oid: number): Map<number, ColumnOrigin> => {
    const done = resolved.get(oid);
    if (done) return done;
    const relation = fetched.get(oid);
    if (!relation) throw new CatalogError(`relation OID ${oid} was not read from ${of}`);
    if (resolving.has(oid)) throw new CatalogError(`view "${relation.schema}.${relation.name}" in ${of} reads itself`);
    resolving.add(oid);
    try {
      const origins = relationOrigins(relation, originsOf, of);
      resolved.set(oid, origins);
      return origins;
    } finally {
      resolving.delete(oid);
    }
  };
  for (const oid of fetched.keys()) originsOf(oid);
  return resolved;
}

function relationOrigins(relation: Relation, originsOf: (oid: number) => ReadonlyMap<number, ColumnOrigin>, of: string): Map<number, ColumnOrigin> {
  const origins = new Map<number, ColumnOrigin>();
  const own = (column: string): ColumnOrigin => ({ sources: [{ schema: relation.schema, table: relation.name, column } satisfies SourceColumn], derived: false });
  const attnums = [...relation.columns.keys()].filter((attnum) => attnum > 0);
  if (isView(relation) && relation.query) {
    let defined: Map<number, ColumnOrigin>;
    try {
      defined = viewColumnOrigins(relation.query, attnums, (relid, attnum) => {
        const origin = originsOf(relid).get(attnum);
        if (!origin) throw new ViewResolutionError(`it reads column ${attnum} of relation OID ${relid}, which has no such column`);
        return origin;
      });
    } catch (error) {
      if (!(error instanceof ViewResolutionError || error instanceof NodeTreeError)) throw error;
      throw new CatalogError(`${of}: view "${relation.schema}.${relation.name}" cannot be followed to its source columns: ${error.message}`, { cause: error });
    }
    for (const attnum of attnums) {
      const origin = defined.get(attnum)!;
      origins.set(attnum, relation.relkind === 'm' ? mergeOrigins([own(relation.columns.get(attnum)!), origin], false) : origin);
    }
  } else {
    for (const [attnum, column] of relation.columns) origins.set(attnum, own(column));
  }
  origins.set(0, mergeOrigins(attnums.map((attnum) => origins.get(attnum)!), false));
  return origins;
}

function relationsSql(oids: readonly number[]): string {
  const list = oidArray(oids);
  // One round trip per level: the relations' columns, then the views' rules, told apart by the first cell.
  return `SELECT 'c', c.oid::pg_catalog.text, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.relkind::pg_catalog.text, a.attnum::pg_catalog.text, a.attname::pg_catalog.text
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum <> 0 AND NOT a.attisdropped
  WHERE c.oid = ANY (${list})
UNION ALL
SELECT 'r', r.ev_class::pg_catalog.text, NULL, NULL, NULL, NULL, r.ev_action::pg_catalog.text
  FROM pg_catalog.pg_rewrite r
  WHERE r.ev_class = ANY (${list}) AND r.rulename = '_RETURN'`;
}

function parseRelations(rows: readonly (readonly (string | null)[])[]): Relation[] {
  const relations = new Map<number, Relation>();
  const rules: [number, string][] = [];
  for (const row of rows) {
    const oid = oidCell(row[1]);
    if (row[0] === 'r') {
      rules.push([oid, textCell(row[6])]);
      continue;
    }
    let relation = relations.get(oid);
    if (!relation) relations.set(oid, (relation = { oid, schema: textCell(row[2]), name: textCell(row[3]), relkind: textCell(row[4]), columns: new Map() }));
    if (row[5] !== null && row[5] !== undefined) relation.columns.set(Number(row[5]), textCell(row[6]));
  }
  for (const [oid, action] of rules) {
    const relation = relations.get(oid);
    if (relation) relation.query = ruleQuery(parseNodeTree(action));
  }
  return [...relations.values()];
}

/**
 * `schema.name` split at its first dot, as the classifier joins them (schema names with a dot
 * are not told apart: such a name is looked up as written and, not found, has no masked column).
 */
function splitName(name: string): [string, string] {
  const dot = name.indexOf('.');
  return dot < 0 ? ['', name] : [name.slice(0, dot), name.slice(dot + 1)];
}

/** Looks names up by (schema, relation); names travel hex-encoded, so no text of theirs is ever SQL. */
function namesSql(parts: readonly (readonly [string, string])[]): string {
  const hex = (text: string) => `pg_catalog.convert_from(pg_catalog.decode('${Buffer.from(text, 'utf8').toString('hex')}', 'hex'), 'UTF8')`;
  const schemas = parts.map(([schema]) => hex(schema)).join(', ');
  const relations = parts.map(([, relation]) => hex(relation)).join(', ');
  return `SELECT q.i::pg_catalog.text, c.oid::pg_catalog.text
  FROM ROWS FROM (pg_catalog.unnest(ARRAY[${schemas}]::pg_catalog.text[]), pg_catalog.unnest(ARRAY[${relations}]::pg_catalog.text[])) WITH ORDINALITY AS q(s, r, i)
  JOIN pg_catalog.pg_namespace n ON n.nspname = q.s
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = q.r`;
}

function typesSql(oids: readonly number[]): string {
  return `SELECT t.oid::pg_catalog.text, t.typtype::pg_catalog.text, t.typcategory::pg_catalog.text, t.typelem::pg_catalog.text, t.typbasetype::pg_catalog.text, t.typname::pg_catalog.text
  FROM pg_catalog.pg_type t WHERE t.oid = ANY (${oidArray(oids)})`;
}

function oidArray(oids: readonly number[]): string {
  return `'{${oids.join(',')}}'::pg_catalog.oid[]`;
}

/** Distinct OIDs, each checked to be one: only these are ever written into SQL. */
function validOids(oids: readonly number[], what: string): number[] {
  for (const oid of oids) {
    if (!Number.isInteger(oid) || oid < 0 || oid > MAX_OID) throw new CatalogError(`${String(oid)} is not a ${what} OID`);
  }
  return [...new Set(oids)];
}

function textCell(cell: string | null | undefined): string {
  if (typeof cell !== 'string') throw new CatalogError('the catalog answered a query with a row missing a value');
  return cell;
}

function oidCell(cell: string | null | undefined): number {
  const text = textCell(cell);
  if (!/^\d{1,10}$/.test(text)) throw new CatalogError(`the catalog answered "${text.slice(0, 20)}" where an OID belongs`);
  return Number(text);
}
