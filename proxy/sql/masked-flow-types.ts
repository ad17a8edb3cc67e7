import type { PgNode } from './parse-tree.js';
import type { RelationNames } from './search-path.js';

// Contract of the masked-flow analysis (masked-flow.ts): which parts of a statement carry a
// masked column's value somewhere result masking cannot follow it.
//
// Result masking finds a column's rule by the source (table OID, attribute number) PostgreSQL
// puts in RowDescription. That source survives only a bare column reference in the client's
// result: through subqueries in FROM, CTEs, views, GROUP BY, DISTINCT, inner/left joins, cursors
// and prepared statements. Anything else (an expression, a set operation, a scalar subquery, a
// FULL JOIN's merged column, a value written server-side) arrives with table OID 0, unmasked.
// This analysis names every such flow so the gateway can deny, hold or let it through to the
// content detectors, per the masking rule's `derived` setting.

/** One relation as the analysis needs it, read from the upstream catalog for this caller. */
export interface MaskedRelation {
  /** Every user column (attnum > 0), in attnum order (what `*` expands to). */
  readonly columns: readonly string[];
  /**
   * The columns a column rule masks for this caller: column name -> masking rule name. A view's
   * column is masked when any base column its definition reads is.
   */
  readonly masked: ReadonlyMap<string, string>;
}

/** The catalog as the analysis sees it (loaded by the caller beforehand; synchronous). */
export interface MaskedSchema {
  /**
   * A relation by its schema-qualified name exactly as RelationNames.qualify() gives it
   * (`public.users`, `pg_temp.t`); undefined for a name the catalog does not know (a temporary
   * table, a relation created later): it is treated as having no masked column.
   */
  relation(qualifiedName: string): MaskedRelation | undefined;
  /**
   * Identifiers (lower case) that masking rules name: each rule's column part when it has no
   * glob (`ssn` from public.users.ssn), and its table part when the column part is `*`. Used
   * only where SQL cannot be parsed (PL/pgSQL and other function languages, DO blocks):
   * mentioning one there counts as reading a masked column. Maps each to the rule naming it.
   */
  readonly ruleIdentifiers: ReadonlyMap<string, string>;
}

/** How a masked value escapes column masking. */
export type FlowRoute =
  /** A computed output column reads a masked column: lower(ssn), ssn || '', casts, COLLATE, aggregates (count excepted), window functions, to_jsonb(u), row(...). */
  | 'expression'
  /** A masked column in an arm of UNION / INTERSECT / EXCEPT (recursive CTEs included): the result loses its source. */
  | 'set_operation'
  /** A scalar or array subquery in an output position reading a masked column. */
  | 'subquery'
  /** A FULL JOIN's merged USING / NATURAL column that is masked (COALESCE of both sides). */
  | 'merged_join'
  /** A function or table function in FROM (LATERAL, ROWS FROM, unnest, json_table, xmltable) taking a masked value. */
  | 'function_from'
  /**
   * A masked value stored server-side where masking no longer knows it: CREATE TABLE AS,
   * SELECT INTO, INSERT ... SELECT / VALUES, UPDATE ... SET, MERGE, INSERT ... ON CONFLICT DO
   * UPDATE, CREATE [MATERIALIZED] VIEW, a generated column or default, CREATE RULE.
   */
  | 'server_side'
  /** COPY of a relation including a masked column, or COPY (query) TO reading one (COPY output carries no sources). */
  | 'copy'
  /** A function or procedure body (CREATE FUNCTION / PROCEDURE) or DO block that reads a masked column. */
  | 'function_body'
  /**
   * A masked value handed to a function that is not a known read-only built-in (set_config,
   * pg_notify, user functions), in any position, WHERE included: its side effects can carry it out.
   */
  | 'side_effect'
  /** ALTER ... RENAME / SET SCHEMA of a relation with masked columns, or of a masked column: rules name columns by name. */
  | 'rename';

export interface MaskedFlow {
  /** The masked column: `schema.table.column` when the analysis resolved it, else the name as written. */
  readonly column: string;
  /** The masking rule that covers it (MaskedRelation.masked's value; for ruleIdentifiers matches, the identifier). */
  readonly rule: string;
  readonly route: FlowRoute;
  /** Where, for the caller and approvers: e.g. `lower(ssn) in the select list`; at most 120 characters. */
  readonly detail: string;
}

/**
 * The analysis: every flow of a masked column in one parsed statement (a RawStmt's `stmt` node,
 * e.g. `{SelectStmt: {...}}`), whose own text is `text`. Empty when none. Pure and synchronous;
 * it may parse SQL function bodies with the loaded SQL parser. Throws on a tree it cannot read
 * (the caller fails closed).
 */
export type MaskedFlowAnalysis = (statement: PgNode, text: string, names: RelationNames, schema: MaskedSchema) => MaskedFlow[];

/**
 * The relations the analysis of this statement will ask MaskedSchema about (schema-qualified,
 * as RelationNames.qualify gives them), including those read inside SQL-language function
 * bodies it parses, so the caller can load them from the catalog first.
 */
export type RelationsNamed = (statement: PgNode, text: string, names: RelationNames) => string[];
