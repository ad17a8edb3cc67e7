import type { MaskedRelation } from './masked-flow-types.js';
import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';
import { wrapped } from './masked-flow-text.js';

// The values name resolution passes around (masked-flow-names.ts): origins, mentions and the
// output columns of a query, with the small pure functions that combine them.

/** One masked relation column a value may carry, and the rule that masks it. */
export interface Origin {
  /** `schema.table.column`. */
  readonly column: string;
  readonly rule: string;
}

export type Origins = ReadonlyMap<string, Origin>;

/** A masked value an expression reads: by a column name, or as a whole row (`u`, `u.*`, `*`). */
export interface Mention {
  readonly name: string;
  readonly origin: Origin;
  readonly whole: boolean;
}

/** The output columns of a query, in order; `precise` is false when `*` or a merge made the order unknown. */
export interface Outputs {
  readonly columns: readonly { readonly name: string | undefined; readonly origins: Origins }[];
  readonly precise: boolean;
}

export const EMPTY: Origins = new Map();

export function key(found: Origin): string {
  return `${found.column}\0${found.rule}`;
}

export function origin(relation: string, column: string, rule: string): Origin {
  return { column: `${relation}.${column}`, rule };
}

export function originsOfRelation(name: string, relation: MaskedRelation): Origins {
  const origins = new Map<string, Origin>();
  for (const [column, rule] of relation.masked) origins.set(key(origin(name, column, rule)), origin(name, column, rule));
  return origins;
}

export function addTo(map: Map<string, Map<string, Origin>>, name: string, origins: readonly Origin[]): void {
  const entry = map.get(name) ?? new Map<string, Origin>();
  for (const found of origins) entry.set(key(found), found);
  map.set(name, entry);
}

export function merge(into: Map<string, Origin>, from: Origins): void {
  for (const [id, found] of from) into.set(id, found);
}

export function mergeAll(parts: readonly Origins[]): Origins {
  const merged = new Map<string, Origin>();
  for (const part of parts) merge(merged, part);
  return merged;
}

export function union(outputs: Outputs): Origins {
  return mergeAll(outputs.columns.map((column) => column.origins));
}

export function concat(parts: readonly Outputs[]): Outputs {
  return { columns: parts.flatMap((part) => part.columns), precise: parts.every((part) => part.precise) };
}

/** Applies an alias column list; with an unknown column order every alias gets every origin. */
export function rename(outputs: Outputs, names: readonly string[]): Outputs {
  if (names.length === 0) return outputs;
  if (!outputs.precise) {
    const all = union(outputs);
    return { columns: [...names.map((name) => ({ name, origins: all })), ...outputs.columns], precise: false };
  }
  const columns = outputs.columns.map((column, index) => ({ name: names[index] ?? column.name, origins: column.origins }));
  return { columns, precise: true };
}

export function isSetOperation(select: PgNode): boolean {
  return typeof select.op === 'string' && select.op !== 'SETOP_NONE';
}

/** count(...) and pg_catalog.count(...): reveals how many, never a value. */
export function isCount(call: PgNode): boolean {
  const parts = stringList(call.funcname);
  return parts.at(-1) === 'count' && (parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog'));
}

/** The column name PostgreSQL gives a target entry (its alias, else FigureColname's choice). */
export function outputName(target: PgNode): string {
  const alias = asString(target.name);
  if (alias !== undefined) return alias;
  let value: unknown = target.val;
  // Casts and COLLATE take their argument's name; bounded, since a chain of casts can be long.
  for (let step = 0; step < 1000; step++) {
    const [type, body] = wrapped(value) ?? ['', {}];
    switch (type) {
      case 'ColumnRef': {
        const last = asNode(asList(body.fields).at(-1));
        return asString(asNode(last?.String)?.sval) ?? '?column?';
      }
      case 'FuncCall':
        return stringList(body.funcname).at(-1) ?? '?column?';
      case 'A_Indirection': {
        const field = stringList(body.indirection).at(-1);
        if (field !== undefined) return field;
        value = body.arg;
        continue;
      }
      case 'TypeCast':
      case 'CollateClause':
        value = body.arg;
        continue;
      case 'CaseExpr':
        return 'case';
      case 'A_ArrayExpr':
        return 'array';
      case 'RowExpr':
        return 'row';
      case 'CoalesceExpr':
        return 'coalesce';
      case 'MinMaxExpr':
        return body.op === 'IS_LEAST' ? 'least' : 'greatest';
      case 'SubLink':
        return body.subLinkType === 'EXISTS_SUBLINK' ? 'exists' : body.subLinkType === 'ARRAY_SUBLINK' ? 'array' : '?column?';
      default:
        return '?column?';
    }
  }
  return '?column?';
}
