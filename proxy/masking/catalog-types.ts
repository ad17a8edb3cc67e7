import type { ValueShape } from './masking-types.js';

// What result masking asks the upstream catalog: where a result column comes from (by the table
// OID and attribute number RowDescription carries) and how a type holds text.

/** A base-table column, as rules name it (`schema.table.column`). */
export interface SourceColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
}

export interface ColumnOrigin {
  /**
   * The base-table columns the value comes from: one for a table column; through views
   * (recursively) the columns the view's expression reads; every column of the table for
   * attribute number 0 (a whole-row reference). Empty for a view column computed from none.
   */
  readonly sources: readonly SourceColumn[];
  /** True when the value is computed from its sources (a view column that is an expression), not one of them as stored. */
  readonly derived: boolean;
}

/** A relation found by name: its user columns (attnum > 0) in attnum order, each with its origin. */
export interface NamedRelation {
  readonly columns: readonly { readonly name: string; readonly origin: ColumnOrigin }[];
}

/**
 * The upstream catalog as result masking sees it: synchronous reads from a cache, and one
 * asynchronous load for what the cache does not hold (or holds past its time to live).
 */
export interface CatalogCache {
  /** The cached origin of (relation OID, attribute number); undefined when not cached or expired. */
  origin(relationOid: number, attnum: number): ColumnOrigin | undefined;
  /** The cached shape of a type; undefined when not cached. Built-in types are always known. */
  shape(typeOid: number): ValueShape | undefined;
  /**
   * Loads the origins of every column of these relations and the shapes of these types.
   * Rejects with an Error (a message safe to show a client, never holding credentials) when the
   * catalog cannot be read or a relation does not exist: the caller fails closed.
   */
  load(relationOids: readonly number[], typeOids: readonly number[]): Promise<void>;
  /**
   * Relations by schema-qualified name (`public.users`, as the SQL classifier names them), from
   * the cache: null for a name the catalog does not hold; undefined when any name is not cached
   * or has expired (call loadNames first).
   */
  relationsByName(names: readonly string[]): ReadonlyMap<string, NamedRelation | null> | undefined;
  /** Looks these names up (and loads their columns' origins); rejects like load(). */
  loadNames(names: readonly string[]): Promise<void>;
  /** Closes the side connection. */
  close(): Promise<void>;
}
