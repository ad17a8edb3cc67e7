import { isReadOnlyFunction } from './function-rules.js';
import { collectParts, resTargets } from './masked-flow-collect.js';
import { childFlows, copyFlows, renameFlows, textFlows, triggerFlows } from './masked-flow-ddl.js';
import type { StatementParts } from './masked-flow-collect.js';
import { MaskedNames } from './masked-flow-names.js';
import type { Mention, Origin } from './masked-flow-origins.js';
import { isSetOperation } from './masked-flow-origins.js';
import { clip, describe, wrapped } from './masked-flow-text.js';
import type { FlowRoute, MaskedFlow, MaskedFlowAnalysis, MaskedSchema, RelationsNamed } from './masked-flow-types.js';
import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';

// The masked-flow analysis (contract: masked-flow-types.ts). A first pass collects the
// statement's relations and names (masked-flow-collect.ts, masked-flow-names.ts); this pass
// walks the tree again knowing, at every query, where its output goes:
// - client: to the client as a result (top-level SELECT, cursors, PREPARE, EXPLAIN, RETURNING
//   of top-level DML, and the FROM subqueries and CTEs of those). A bare column reference keeps
//   its source here and is masked; anything else reading a masked name loses it.
// - moved: somewhere masking cannot follow (a table, a view, COPY, a set-operation arm, a
//   function body). Any masked name in an output position is a flow, bare or not.
// - source: a FROM subquery or CTE of a moved query. Its outputs matter only where the outer
//   query uses them, and name propagation already marks those names masked there.
// - predicate: WHERE, HAVING, JOIN conditions, GROUP BY, ORDER BY, LIMIT, window clauses and
//   sublinks in them. Masked names are allowed: predicates remain a probing channel (WHERE
//   ssn LIKE '1%' narrows rows by a masked value) that this analysis deliberately leaves to
//   policy, since forbidding them would forbid most real queries.
// Everywhere, a masked value passed to a function that is not a known read-only built-in is a
// side effect, and one passed to a function in FROM is a function_from flow.

type Context = 'client' | 'moved' | 'source' | 'predicate';

interface FlowState {
  readonly context: Context;
  /** The route a masked output takes in a moved context. */
  readonly route: FlowRoute;
  /** Where an output goes, for `detail`: `the select list`, `CREATE TABLE AS`. */
  readonly where: string;
  /** The route of writes (INSERT, UPDATE, MERGE): server_side, or function_body inside a body. */
  readonly writes: FlowRoute;
  /** Appended to write details: ` in a function body`. */
  readonly suffix: string;
}

const TOP: FlowState = { context: 'client', route: 'expression', where: 'the select list', writes: 'server_side', suffix: '' };
const FUNCTION_BODY: FlowState = { context: 'moved', route: 'function_body', where: 'a function body', writes: 'function_body', suffix: ' in a function body' };
const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
const FUNCTION_ITEMS: Readonly<Record<string, string>> = { RangeTableFunc: 'xmltable', JsonTable: 'json_table' };
const SET_OPERATIONS: Readonly<Record<string, string>> = { SETOP_UNION: 'UNION', SETOP_INTERSECT: 'INTERSECT', SETOP_EXCEPT: 'EXCEPT' };

export const relationsNamed: RelationsNamed = (statement, _text, names) => {
  const parts = guarded(() => collectParts(statement, names));
  const found = new Set<string>();
  for (const target of parts.rangeVars.values()) if (target.kind === 'relation') found.add(target.name);
  return [...found].sort();
};

export const maskedFlows: MaskedFlowAnalysis = (statement, _text, names, schema) =>
  guarded(() => {
    const parts = collectParts(statement, names);
    return new FlowWalker(parts, new MaskedNames(parts, schema), schema).run(statement);
  });

/** Every walk here is iterative or bounded; this turns a stack overflow anywhere into a clear error. */
function guarded<T>(analyze: () => T): T {
  try {
    return analyze();
  } catch (error) {
    if (error instanceof RangeError) throw new Error('The statement is nested too deeply to analyze for masked-column flows.', { cause: error });
    throw error;
  }
}

class FlowWalker {
  readonly #flows = new Map<string, MaskedFlow>();
  readonly #stack: { key: string; value: object; state: FlowState }[] = [];

  constructor(
    private readonly parts: StatementParts,
    private readonly names: MaskedNames,
    private readonly schema: MaskedSchema,
  ) {}

  run(statement: PgNode): MaskedFlow[] {
    this.#push('', statement, TOP);
    while (this.#stack.length > 0) {
      const { key, value, state } = this.#stack.pop()!;
      this.#visit(key, value, state);
    }
    return [...this.#flows.values()];
  }

  #push(key: string, value: unknown, state: FlowState): void {
    if (typeof value === 'object' && value !== null) this.#stack.push({ key, value, state });
  }

  /** Pushes every field of a node (but `skip`), last first so they are visited in order. */
  #pushFields(body: PgNode, state: FlowState, skip: readonly string[] = []): void {
    const keys = Object.keys(body);
    for (let index = keys.length - 1; index >= 0; index--) if (!skip.includes(keys[index]!)) this.#push(keys[index]!, body[keys[index]!], state);
  }

  #visit(key: string, value: object, state: FlowState): void {
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) this.#push('', value[index], state);
      return;
    }
    const node = wrapped(value);
    const [type, body] = node ?? [key, value as PgNode];
    if (type === 'SelectStmt' || ((type === 'larg' || type === 'rarg') && typeof body.op === 'string')) return this.#select(body, state);
    if (DML.has(type)) return this.#dml(type, body, state);
    const expression = predicate(state);
    switch (type) {
      case 'SubLink':
        // What a sublink outputs is judged where it is used; inside, only the global rules apply.
        return this.#pushFields(body, expression);
      case 'FuncCall':
      case 'funccall': // CallStmt.funccall is a bare FuncCall
        this.#sideEffect(body);
        return this.#pushFields(body, expression, ['funcname']);
      case 'A_Expr':
        this.#userOperator(body);
        return this.#pushFields(body, expression);
      case 'RangeFunction':
      case 'RangeTableFunc':
      case 'JsonTable':
        this.#functionFrom(type, body);
        return this.#pushFields(body, expression, ['alias']);
      case 'RangeSubselect':
        return this.#push('subquery', body.subquery, state);
      case 'JoinExpr':
        if (state.context === 'client') this.#mergedJoin(body);
        this.#push('larg', body.larg, state);
        this.#push('rarg', body.rarg, state);
        return this.#push('quals', body.quals, expression);
      case 'CreateTableAsStmt': {
        const matview = body.objtype === 'OBJECT_MATVIEW';
        return this.#push('query', body.query, moved('server_side', matview ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS', state));
      }
      case 'ViewStmt':
        return this.#push('query', body.query, moved('server_side', 'CREATE VIEW', state));
      case 'RuleStmt':
        this.#push('whereClause', body.whereClause, expression);
        return this.#push('actions', body.actions, { ...moved('server_side', 'CREATE RULE', state), suffix: `${state.suffix} in a rule` });
      case 'CopyStmt':
        return this.#copy(body, state);
      case 'CreateFunctionStmt':
      case 'DoStmt':
        this.#body(type, body);
        return this.#pushFields(body, predicate(state), ['options', 'args', 'sql_body']);
      case 'RenameStmt':
      case 'AlterObjectSchemaStmt':
        return this.#reportAll(renameFlows(type, body, this.names));
      case 'AlterTableStmt':
        return this.#alterTable(body, state);
      case 'CreateTrigStmt':
        this.#reportAll(triggerFlows(body, this.names));
        return this.#pushFields(body, expression);
      case 'AlterTableCmd':
        if (body.subtype === 'AT_ColumnDefault' || body.subtype === 'AT_SetExpression') {
          const what = body.subtype === 'AT_ColumnDefault' ? 'a column default' : 'a generated column';
          this.#output(this.names.mentions(body.def, undefined), state.writes, body.def, `${what}${state.suffix}`);
        }
        return this.#pushFields(body, expression);
      case 'ColumnDef':
        // ALTER COLUMN ... TYPE ... USING expr rewrites the column with expr's value.
        this.#output(this.names.mentions(body.raw_default, undefined), state.writes, body.raw_default, `ALTER COLUMN ... USING${state.suffix}`);
        return this.#pushFields(body, expression);
      case 'Constraint':
        if (body.contype === 'CONSTR_DEFAULT' || body.contype === 'CONSTR_GENERATED') {
          const what = body.contype === 'CONSTR_DEFAULT' ? 'a column default' : 'a generated column';
          this.#output(this.names.mentions(body.raw_expr, undefined), state.writes, body.raw_expr, `${what}${state.suffix}`);
        }
        return this.#pushFields(body, expression);
      case 'ReturnStmt': // RETURN expr: a SQL function's result
        this.#output(this.names.mentions(body.returnval, undefined), state.route, body.returnval, state.where);
        return this.#pushFields(body, expression);
      case 'PrepareStmt':
      case 'DeclareCursorStmt':
      case 'ExplainStmt':
        // Judged as if run at top level; EXECUTE and FETCH then add nothing.
        return this.#push('query', body.query, TOP);
      case 'ExecuteStmt':
        return this.#push('params', body.params, expression);
      case 'CreatePolicyStmt':
      case 'AlterPolicyStmt':
        return this.#pushFields(body, expression);
    }
    if (typeof body.relname === 'string') return; // a RangeVar: judged where its columns are used
    // Anything else: keep looking for queries inside. A query found under a node this code does
    // not know is taken as moved, the conservative reading.
    this.#pushFields(body, state.context === 'client' ? moved('server_side', 'a nested query', state) : state);
  }

  #select(body: PgNode, outer: FlowState): void {
    const state = asNode(body.intoClause) !== undefined ? moved('server_side', 'SELECT INTO', outer) : outer;
    const from = fromState(state);
    const expression = predicate(state);
    if (isSetOperation(body)) {
      // Every arm of UNION / INTERSECT / EXCEPT loses its source; a recursive CTE is one too.
      const operation = SET_OPERATIONS[asString(body.op) ?? ''] ?? 'set operation';
      const arm = state.context === 'client' ? { ...state, context: 'moved' as const, route: 'set_operation' as const, where: `a ${operation} arm` } : state;
      this.#pushCtes(body.withClause, from);
      this.#push('larg', body.larg, arm);
      this.#push('rarg', body.rarg, arm);
      return this.#pushFields(body, expression, ['larg', 'rarg', 'withClause', 'intoClause']);
    }
    for (const target of resTargets(body.targetList)) this.#target(target.val, body, state);
    if (state.context === 'client' || state.context === 'moved') {
      // VALUES output has no source, even for a bare (LATERAL) column reference.
      const where = state.context === 'client' ? 'a VALUES list' : state.where;
      for (const row of asList(body.valuesLists)) {
        for (const item of asList(asNode(asNode(row)?.List)?.items)) {
          const route = state.context === 'moved' ? state.route : wrapped(item)?.[0] === 'SubLink' ? 'subquery' : 'expression';
          this.#output(this.names.mentions(item, body), route, item, where);
        }
      }
    }
    this.#pushCtes(body.withClause, from);
    this.#push('fromClause', body.fromClause, from);
    this.#pushFields(body, expression, ['fromClause', 'withClause', 'intoClause']);
  }

  /** One output entry of a query (select list or RETURNING) in the given state. */
  #target(value: unknown, owner: PgNode, state: FlowState): void {
    if (state.context === 'moved') {
      this.#output(this.names.mentions(value, owner), state.route, value, state.where);
    } else if (state.context === 'client') {
      const node = wrapped(value);
      let mentions = this.names.mentions(value, owner);
      // A bare reference (a column, `*`, `u.*`, a relation's whole row `u`) keeps its source.
      if (node?.[0] === 'ColumnRef') mentions = mentions.filter((mention) => mention.whole && this.names.isDerivedRow(mention.name));
      this.#output(mentions, node?.[0] === 'SubLink' ? 'subquery' : 'expression', value, state.where);
    }
  }

  #dml(type: string, body: PgNode, state: FlowState): void {
    const expression = predicate(state);
    const returning = resTargets(asNode(body.returningClause)?.exprs);
    const output = state.context === 'client' ? { ...state, where: 'RETURNING' } : state;
    for (const target of returning) this.#target(target.val, body, output);
    // FROM items feed SET (judged there) and RETURNING: client only when there is a RETURNING.
    const from = returning.length > 0 ? fromState(output) : fromState({ ...state, context: state.context === 'client' ? 'moved' : state.context });
    const write = (where: string): FlowState => ({ ...state, context: 'moved', route: state.writes, where: `${where}${state.suffix}` });
    const sets = (targets: unknown, where: string): void => {
      for (const target of resTargets(targets)) this.#output(this.names.mentions(target.val, body), state.writes, target.val, write(where).where);
    };
    if (type === 'InsertStmt') {
      const select = wrapped(body.selectStmt)?.[1];
      this.#push('selectStmt', body.selectStmt, write(select?.valuesLists !== undefined ? 'INSERT ... VALUES' : 'INSERT ... SELECT'));
      sets(asNode(body.onConflictClause)?.targetList, 'ON CONFLICT DO UPDATE');
    } else if (type === 'UpdateStmt') {
      sets(body.targetList, 'UPDATE ... SET');
    } else if (type === 'MergeStmt') {
      for (const clause of asList(body.mergeWhenClauses)) {
        const when = asNode(asNode(clause)?.MergeWhenClause);
        if (when === undefined) continue;
        if (when.commandType === 'CMD_UPDATE') sets(when.targetList, 'MERGE ... UPDATE SET');
        for (const value of asList(when.values)) this.#output(this.names.mentions(value, body), state.writes, value, write('MERGE ... INSERT').where);
      }
    }
    this.#pushCtes(body.withClause, from);
    for (const field of ['fromClause', 'usingClause', 'sourceRelation']) this.#push(field, body[field], from);
    this.#pushFields(body, expression, ['relation', 'selectStmt', 'withClause', 'fromClause', 'usingClause', 'sourceRelation']);
  }

  #pushCtes(withClause: unknown, state: FlowState): void {
    for (const entry of asList(asNode(withClause)?.ctes)) this.#push('ctequery', asNode(asNode(entry)?.CommonTableExpr)?.ctequery, state);
  }

  /** A function not known to be read-only that is handed a masked value can carry it anywhere. */
  #sideEffect(call: PgNode): void {
    const parts = stringList(call.funcname);
    if (isReadOnlyFunction(parts)) return;
    const name = parts.join('.');
    for (const mention of this.names.mentions([call.args, call.agg_order], undefined)) {
      this.#add(mention, 'side_effect', `${mention.name} passed to ${name}()`);
    }
  }

  /**
   * An operator named with a schema other than pg_catalog (`OPERATOR(app.===)`) runs a user
   * function. LIMITATION: an unqualified user-defined operator cannot be told from a built-in.
   */
  #userOperator(body: PgNode): void {
    const parts = stringList(body.name);
    if (parts.length < 2 || parts[0] === 'pg_catalog') return;
    const name = parts.join('.');
    for (const mention of this.names.mentions([body.lexpr, body.rexpr], undefined)) {
      this.#add(mention, 'side_effect', `${mention.name} passed to operator ${name}`);
    }
  }

  #functionFrom(type: string, body: PgNode): void {
    if (type === 'RangeFunction') {
      for (const item of asList(body.functions)) {
        const call = asList(asNode(asNode(item)?.List)?.items)[0];
        const name = stringList(asNode(asNode(call)?.FuncCall)?.funcname).join('.') || 'a function';
        for (const mention of this.names.mentions(call, undefined)) this.#add(mention, 'function_from', `${mention.name} passed to ${name}() in FROM`);
      }
      return;
    }
    for (const mention of this.names.mentions({ ...body, alias: undefined }, undefined)) {
      this.#add(mention, 'function_from', `${mention.name} passed to ${FUNCTION_ITEMS[type]}() in FROM`);
    }
  }

  /** FULL JOIN merges USING / NATURAL columns into COALESCE(left, right): no source survives. */
  #mergedJoin(join: PgNode): void {
    if (join.jointype !== 'JOIN_FULL') return;
    const detail = (name: string): string => `${name} merged by FULL JOIN ${join.isNatural === true ? 'NATURAL' : 'USING'}`;
    for (const name of stringList(join.usingClause)) {
      for (const origin of this.names.originsOfName(name)?.values() ?? []) this.#add({ name, origin, whole: false }, 'merged_join', detail(name));
    }
    if (join.isNatural !== true) return;
    const left = this.names.itemOutputs(join.larg);
    const right = this.names.itemOutputs(join.rarg);
    for (const [side, other] of [
      [left, right],
      [right, left],
    ] as const) {
      const otherNames = other.precise ? new Set(other.columns.map((column) => column.name)) : undefined;
      for (const column of side.columns) {
        // A column of unknown name, or one the other side may share, may be merged.
        if (column.name !== undefined && otherNames !== undefined && !otherNames.has(column.name)) continue;
        for (const origin of column.origins.values()) this.#add({ name: column.name ?? origin.column, origin, whole: column.name === undefined }, 'merged_join', detail(column.name ?? origin.column));
      }
    }
  }

  #copy(body: PgNode, state: FlowState): void {
    if (body.is_from === true) return this.#push('whereClause', body.whereClause, predicate(state));
    if (body.query !== undefined) return this.#push('query', body.query, moved('copy', 'COPY (query) TO', state));
    this.#reportAll(copyFlows(body, this.names));
  }

  /** ALTER TABLE: defaults, generated columns and USING expressions are judged by the walk below. */
  #alterTable(body: PgNode, state: FlowState): void {
    this.#reportAll(childFlows(body, this.names));
    this.#pushFields(body, moved('server_side', 'ALTER TABLE', state));
  }

  /** A function or DO body: parsed SQL is walked as stored (moved); anything else is scanned as text. */
  #body(type: string, body: PgNode): void {
    const fn = this.parts.bodies.get(body);
    if (fn === undefined) return;
    if (fn.kind === 'text') return this.#reportAll(textFlows(fn, type === 'DoStmt' ? 'a DO block' : `a ${fn.language} function body`, this.names, this.schema));
    for (let index = fn.statements.length - 1; index >= 0; index--) this.#push('', fn.statements[index], FUNCTION_BODY);
  }

  /** Reports what an output value reads, described by the value. */
  #output(mentions: readonly Mention[], route: FlowRoute, value: unknown, where: string): void {
    if (mentions.length === 0) return;
    const detail = `${describe(value)} in ${where}`;
    for (const mention of mentions) this.#add(mention, route, detail);
  }

  /** A flow for one mention: the qualified column when the name has one origin, else the name. */
  #add(mention: Mention, route: FlowRoute, detail: string): void {
    const single = mention.whole || this.names.originsOfName(mention.name)?.size === 1;
    this.#report({ column: single ? mention.origin.column : mention.name, rule: mention.origin.rule }, route, detail);
  }

  #reportAll(flows: readonly MaskedFlow[]): void {
    for (const flow of flows) this.#report(flow, flow.route, flow.detail);
  }

  #report(found: Origin, route: FlowRoute, detail: string): void {
    const flow: MaskedFlow = { column: found.column, rule: found.rule, route, detail: clip(detail) };
    // One flow per (column, route, detail); the rule is in the key too, so an ambiguous name
    // masked by two rules reports both.
    const key = `${flow.column}\0${flow.rule}\0${route}\0${flow.detail}`;
    if (!this.#flows.has(key)) this.#flows.set(key, flow);
  }
}

function predicate(state: FlowState): FlowState {
  return state.context === 'predicate' ? state : { ...state, context: 'predicate' };
}

function moved(route: FlowRoute, where: string, state: FlowState): FlowState {
  return { ...state, context: 'moved', route: state.writes === 'function_body' ? 'function_body' : route, where: `${where}${state.suffix}` };
}

/** Where a query's FROM subqueries and CTEs send their outputs. */
function fromState(state: FlowState): FlowState {
  return state.context === 'moved' ? { ...state, context: 'source' } : state;
}
