import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';
import type { RelationNames } from './search-path.js';
import { parseStatements } from './sql-parser.js';
import { wrapped } from './masked-flow-text.js';

// The first pass of the masked-flow analysis: one walk over a statement (and the SQL function
// bodies it creates) that records what name resolution needs. RangeVars are resolved with the
// same CTE scoping as parse-tree-walk.ts: an unqualified FROM reference to a CTE in scope is
// the CTE, not a relation; a WITH entry sees only earlier entries unless WITH RECURSIVE.

/** What a RangeVar names: a relation (schema-qualified) or a CTE in scope (its CommonTableExpr). */
export type RangeVarTarget = { readonly kind: 'relation'; readonly name: string } | { readonly kind: 'cte'; readonly cte: PgNode };

/** A function or DO body: SQL statements (parsed, or a BEGIN ATOMIC / RETURN body), or opaque text. */
export type FunctionBody =
  | { readonly kind: 'sql'; readonly statements: readonly unknown[] }
  | { readonly kind: 'text'; readonly language: string; readonly text: string };

export interface StatementParts {
  /** Every RangeVar body in the tree and what it names. */
  readonly rangeVars: Map<PgNode, RangeVarTarget>;
  /** Target entries whose names flow onward (select lists, RETURNING), with the statement their `*` expands over. */
  readonly targets: { readonly target: PgNode; readonly owner: PgNode }[];
  /** RangeSubselect bodies (FROM subqueries). */
  readonly subselects: PgNode[];
  /** CommonTableExpr bodies. */
  readonly ctes: PgNode[];
  /** RangeFunction / RangeTableFunc / JsonTable bodies. */
  readonly functionItems: PgNode[];
  /** RangeVars whose rows the statement can also call `new` / `old` (DML targets, rule relations). */
  readonly newOld: PgNode[];
  /** Column names given in alias lists and CTE column lists (known column names). */
  readonly aliasNames: Set<string>;
  /** CreateFunctionStmt and DoStmt bodies. */
  readonly bodies: Map<PgNode, FunctionBody>;
}

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
const FUNCTION_ITEMS = new Set(['RangeFunction', 'RangeTableFunc', 'JsonTable']);
const NO_CTES: ReadonlyMap<string, PgNode> = new Map();

/** Walks `statement` (iteratively: trees can be as deep as they are long) and records its parts. */
export function collectParts(statement: PgNode, names: RelationNames): StatementParts {
  const parts: StatementParts = {
    rangeVars: new Map(),
    targets: [],
    subselects: [],
    ctes: [],
    functionItems: [],
    newOld: [],
    aliasNames: new Set(),
    bodies: new Map(),
  };
  const stack: { key: string; value: object; ctes: ReadonlyMap<string, PgNode> }[] = [];
  const push = (key: string, value: unknown, ctes: ReadonlyMap<string, PgNode>): void => {
    if (typeof value === 'object' && value !== null) stack.push({ key, value, ctes });
  };
  const pushFields = (body: PgNode, ctes: ReadonlyMap<string, PgNode>, skip: ReadonlySet<string>): void => {
    const keys = Object.keys(body);
    for (let index = keys.length - 1; index >= 0; index--) if (!skip.has(keys[index]!)) push(keys[index]!, body[keys[index]!], ctes);
  };
  const pushCtes = (withClause: unknown, ctes: ReadonlyMap<string, PgNode>): ReadonlyMap<string, PgNode> => {
    const clause = asNode(withClause);
    if (clause === undefined) return ctes;
    const entries = cteEntries(clause);
    const all = new Map(ctes);
    for (const cte of entries) all.set(asString(cte.ctename) ?? '', cte);
    const visible = new Map(ctes);
    for (const cte of entries) {
      parts.ctes.push(cte);
      for (const name of stringList(cte.aliascolnames)) parts.aliasNames.add(name);
      push('', cte.ctequery, clause.recursive === true ? all : new Map(visible));
      visible.set(asString(cte.ctename) ?? '', cte);
    }
    return all;
  };
  const relation = (body: PgNode, ctes: ReadonlyMap<string, PgNode>, mayBeCte: boolean): void => {
    const relname = asString(body.relname) ?? '';
    const schemaname = asString(body.schemaname);
    const cte = mayBeCte && schemaname === undefined ? ctes.get(relname) : undefined;
    parts.rangeVars.set(body, cte !== undefined ? { kind: 'cte', cte } : { kind: 'relation', name: names.qualify(schemaname, relname, body.relpersistence === 't') });
    for (const name of stringList(asNode(body.alias)?.colnames)) parts.aliasNames.add(name);
  };

  push('', statement, NO_CTES);
  while (stack.length > 0) {
    const { key, value, ctes } = stack.pop()!;
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) push('', value[index], ctes);
      continue;
    }
    // A wrapped node is dispatched by its type; a bare typed field by its field name.
    const [type, body] = wrapped(value) ?? [key, value as PgNode];
    if (type === 'RangeVar') {
      relation(body, ctes, true);
    } else if (type === 'SelectStmt' || ((key === 'larg' || key === 'rarg') && typeof body.op === 'string')) {
      for (const target of resTargets(body.targetList)) parts.targets.push({ target, owner: body });
      const scope = pushCtes(body.withClause, ctes);
      pushFields(body, scope, SKIP_WITH);
    } else if (DML.has(type)) {
      for (const target of resTargets(asNode(body.returningClause)?.exprs)) parts.targets.push({ target, owner: body });
      const target = asNode(body.relation);
      if (target !== undefined) {
        relation(target, ctes, false);
        parts.newOld.push(target);
      }
      const scope = pushCtes(body.withClause, ctes);
      pushFields(body, scope, SKIP_DML);
    } else if (type === 'RangeSubselect') {
      parts.subselects.push(body);
      for (const name of stringList(asNode(body.alias)?.colnames)) parts.aliasNames.add(name);
      pushFields(body, ctes, NONE);
    } else if (FUNCTION_ITEMS.has(type)) {
      parts.functionItems.push(body);
      for (const name of stringList(asNode(body.alias)?.colnames)) parts.aliasNames.add(name);
      pushFields(body, ctes, NONE);
    } else if (type === 'RuleStmt') {
      const target = asNode(body.relation);
      if (target !== undefined) parts.newOld.push(target);
      pushFields(body, ctes, NONE);
    } else if (type === 'CreateFunctionStmt' || type === 'DoStmt') {
      const fn = functionBody(type, body);
      if (fn !== undefined) {
        parts.bodies.set(body, fn);
        // A body runs later in its own scope: the CTEs around CREATE FUNCTION are not visible.
        if (fn.kind === 'sql') for (const inner of fn.statements) push('', inner, NO_CTES);
      }
      pushFields(body, ctes, SKIP_BODY);
    } else if (typeof body.relname === 'string') {
      relation(body, ctes, false); // a bare RangeVar field: always a relation
    } else {
      pushFields(body, ctes, NONE);
    }
  }
  return parts;
}

const NONE: ReadonlySet<string> = new Set();
const SKIP_WITH: ReadonlySet<string> = new Set(['withClause']);
const SKIP_DML: ReadonlySet<string> = new Set(['withClause', 'relation']);
const SKIP_BODY: ReadonlySet<string> = new Set(['options', 'args', 'sql_body']);

export function cteEntries(clause: PgNode): PgNode[] {
  const entries: PgNode[] = [];
  for (const entry of asList(clause.ctes)) {
    const cte = asNode(asNode(entry)?.CommonTableExpr);
    if (cte !== undefined) entries.push(cte);
  }
  return entries;
}

/** The ResTarget bodies of a target list. */
export function resTargets(list: unknown): PgNode[] {
  const targets: PgNode[] = [];
  for (const item of asList(list)) {
    const target = asNode(asNode(item)?.ResTarget);
    if (target !== undefined) targets.push(target);
  }
  return targets;
}

/**
 * A CREATE FUNCTION / PROCEDURE or DO body. LANGUAGE sql with a string body is parsed, and
 * read as text when it does not parse; BEGIN ATOMIC and RETURN bodies arrive parsed.
 */
function functionBody(type: string, body: PgNode): FunctionBody | undefined {
  const options = asList(type === 'DoStmt' ? body.args : body.options);
  let language: string | undefined;
  let text: string | undefined;
  for (const option of options) {
    const element = asNode(asNode(option)?.DefElem);
    if (element === undefined) continue;
    if (element.defname === 'language') language = asString(asNode(asNode(element.arg)?.String)?.sval)?.toLowerCase();
    if (element.defname === 'as') {
      const arg = asNode(element.arg);
      const single = asString(asNode(arg?.String)?.sval);
      text = single ?? stringList(asNode(arg?.List)?.items).join('\n');
    }
  }
  if (type === 'CreateFunctionStmt' && body.sql_body !== undefined) return { kind: 'sql', statements: [body.sql_body] };
  if (text === undefined) return undefined;
  if (type === 'DoStmt') return { kind: 'text', language: language ?? 'plpgsql', text };
  if (language === 'sql' || language === undefined) {
    const parsed = parseStatements(text);
    if (parsed.ok) return { kind: 'sql', statements: parsed.statements.map((statement) => statement.node) };
  }
  return { kind: 'text', language: language ?? 'sql', text };
}
