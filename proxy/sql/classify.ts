import type { StatementKind } from '../common/statement-kinds.js';
import type { Matcher } from '../policy/glob.js';
import type { DangerousFunctions } from './function-rules.js';
import { changesNamedRelations, kindOfNode } from './node-kinds.js';
import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, unwrap } from './parse-tree.js';
import type { Findings } from './parse-tree-walk.js';
import { emptyFindings, initialState, TreeWalker } from './parse-tree-walk.js';
import type { RelationNames } from './search-path.js';
import { relationNamesFor } from './search-path.js';
import { preparedQueryText } from './sql-parser.js';
import type { ClassifyContext, StatementClass, StatementFlag } from './statement-class.js';
import { STATEMENT_FLAGS } from './statement-class.js';

export interface ClassifyOptions {
  readonly dangerousFunctions: DangerousFunctions;
  /** Tables a SELECT without WHERE or LIMIT flags `full_scan` on (schema-qualified names). */
  readonly fullScanTables?: Matcher;
}

/** A classification and whether it depends on the session's prepared statements (EXECUTE). */
export interface StatementAnalysis {
  readonly statement: StatementClass;
  readonly usesPrepared: boolean;
}

/** Classifies one parsed statement (`{SelectStmt: {...}}`) whose own text is `text`. */
export function classifyStatement(node: PgNode, text: string, ctx: ClassifyContext, options: ClassifyOptions): StatementClass {
  return analyzeStatement(node, text, relationNamesFor(ctx.searchPath, ctx.user), ctx, options).statement;
}

export function analyzeStatement(
  node: PgNode,
  text: string,
  names: RelationNames,
  ctx: ClassifyContext,
  options: ClassifyOptions,
): StatementAnalysis {
  const unwrapped = unwrap(node);
  if (unwrapped === undefined) throw new Error('The SQL parser returned a statement without a node; it cannot be classified.');
  const [type, body] = unwrapped;
  const walker = (found: Findings) => new TreeWalker(found, names, options.dangerousFunctions, ctx.prepared, options.fullScanTables);

  switch (type) {
    case 'ExplainStmt':
      return explain(body, text, names, ctx, options);
    case 'PrepareStmt': {
      const query = asNode(body.query);
      if (query === undefined) throw new Error('PREPARE without a statement cannot be classified.');
      const inner = analyzeStatement(query, preparedQueryText(text), names, ctx, options);
      const name = asString(body.name) ?? '';
      return {
        statement: { ...build(text, emptyFindings('prepare')), prepares: { name, statement: inner.statement } },
        usesPrepared: inner.usesPrepared,
      };
    }
    case 'ExecuteStmt': {
      // Takes the kind of what it runs; unknown to us, it stays `prepare` with `executes` set.
      const prepared = ctx.prepared?.get(asString(body.name) ?? '');
      const found = emptyFindings(prepared?.kind ?? 'prepare');
      walker(found).walk(node, initialState('read'));
      return { statement: build(text, found), usesPrepared: true };
    }
    case 'DeallocateStmt': {
      const name = asString(body.name);
      return { statement: { ...build(text, emptyFindings('prepare')), deallocates: name === undefined ? {} : { name } }, usesPrepared: false };
    }
  }

  const kind = kindOf(type, body);
  const found = emptyFindings(kind);
  walker(found).walk(node, initialState(changesNamedRelations(type, kind) ? 'write' : 'read'));
  switch (type) {
    case 'VariableSetStmt': {
      // SET [LOCAL|SESSION] ROLE, SET SESSION AUTHORIZATION and their RESETs.
      const name = asString(body.name);
      if (name === 'role' || name === 'session_authorization') found.flags.add('set_role');
      break;
    }
    case 'DiscardStmt':
      // DISCARD ALL includes SET SESSION AUTHORIZATION DEFAULT (the role changes back) and
      // DEALLOCATE ALL (the session must forget its prepared statements, or a name reused by a
      // protocol-level Parse would still be judged by the old PREPARE).
      if (body.target === 'DISCARD_ALL') {
        found.flags.add('set_role');
        return { statement: { ...build(text, found), deallocates: {} }, usesPrepared: false };
      }
      break;
    case 'LoadStmt':
      // LOAD runs a shared library's initialisation code in the server process.
      found.flags.add('unknown_function');
      break;
  }
  return { statement: build(text, found), usesPrepared: found.usesPrepared };
}

function kindOf(type: string, body: PgNode): StatementKind {
  if (type === 'CopyStmt') return body.is_from === true ? 'copy_in' : 'copy_out';
  if (type === 'DeclareCursorStmt') {
    // DECLARE c CURSOR FOR SELECT ...: a query whose rows FETCH returns later.
    const query = asNode(body.query);
    const inner = query === undefined ? undefined : unwrap(query);
    return inner === undefined ? 'utility' : kindOfNode(inner[0]);
  }
  return kindOfNode(type);
}

/** Flags that stay on a plain EXPLAIN: the planner runs immutable functions while planning. */
const EXPLAIN_FLAGS: ReadonlySet<StatementFlag> = new Set(['dangerous_function', 'unknown_function']);

/**
 * EXPLAIN plans without running: kind `explain`, the relations it plans against as reads (a
 * plan reveals row estimates of write targets too), no writes. EXPLAIN ANALYZE runs the
 * statement: it is classified as that statement, flagged `explain_analyze`.
 */
function explain(body: PgNode, text: string, names: RelationNames, ctx: ClassifyContext, options: ClassifyOptions): StatementAnalysis {
  const query = asNode(body.query);
  if (query === undefined) throw new Error('EXPLAIN without a statement cannot be classified.');
  const inner = analyzeStatement(query, text, names, ctx, options);
  const explained = inner.statement;
  if (isAnalyze(body.options)) {
    const flags = new Set<StatementFlag>(explained.flags).add('explain_analyze');
    return { statement: { ...explained, text, flags: STATEMENT_FLAGS.filter((flag) => flags.has(flag)) }, usesPrepared: inner.usesPrepared };
  }
  const statement: StatementClass = {
    text,
    kind: 'explain',
    operations: ['explain'],
    reads: [...new Set([...explained.reads, ...explained.writes])].sort(),
    writes: [],
    functions: explained.functions,
    flags: explained.flags.filter((flag) => EXPLAIN_FLAGS.has(flag)),
    ...(explained.executes === undefined ? {} : { executes: explained.executes }),
  };
  return { statement, usesPrepared: inner.usesPrepared };
}

/**
 * Whether EXPLAIN's options turn ANALYZE on. PostgreSQL accepts true/false/on/off and 1/0; any
 * other value, or an option this code cannot read, counts as on (the statement would run).
 */
function isAnalyze(options: unknown): boolean {
  for (const option of asList(options)) {
    const def = asNode(asNode(option)?.DefElem);
    if (def === undefined || def.defname !== 'analyze') continue;
    const arg = asNode(def.arg);
    if (arg === undefined) return true;
    const string = asString(asNode(arg.String)?.sval)?.toLowerCase();
    if (string === 'false' || string === 'off') continue;
    const integer = asNode(arg.Integer);
    if (integer !== undefined && (integer.ival === undefined || integer.ival === 0)) continue;
    const boolean = asNode(arg.Boolean);
    if (boolean !== undefined && boolean.boolval !== true) continue;
    return true;
  }
  return false;
}

/** The reported shape: `kind` is the first operation (emptyFindings puts it there). */
function build(text: string, found: Findings): StatementClass {
  const statement: StatementClass = {
    text,
    kind: found.operations.values().next().value!,
    operations: [...found.operations],
    reads: [...found.reads].sort(),
    writes: [...found.writes].sort(),
    functions: [...found.functions].sort(),
    flags: STATEMENT_FLAGS.filter((flag) => found.flags.has(flag)),
  };
  const executes = found.unresolved[0];
  return executes === undefined ? statement : { ...statement, executes };
}
