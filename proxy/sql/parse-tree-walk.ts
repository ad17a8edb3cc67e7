import type { StatementKind } from '../common/statement-kinds.js';
import { namedTargets } from './ddl-targets.js';
import type { Matcher } from '../policy/glob.js';
import type { DangerousFunctions } from './function-rules.js';
import { isReadOnlyFunction } from './function-rules.js';
import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';
import type { RelationNames } from './search-path.js';
import type { StatementClass, StatementFlag } from './statement-class.js';

/** What a walk found. Sets keep first-seen order; the classifier sorts what it reports. */
export interface Findings {
  readonly operations: Set<StatementKind>;
  readonly reads: Set<string>;
  readonly writes: Set<string>;
  readonly functions: Set<string>;
  readonly flags: Set<StatementFlag>;
  /** EXECUTE names not found among the session's prepared statements. */
  readonly unresolved: string[];
  /** An EXECUTE was looked up: the result depends on the session's prepared statements. */
  usesPrepared: boolean;
}

export function emptyFindings(kind: StatementKind): Findings {
  return {
    operations: new Set([kind]),
    reads: new Set(),
    writes: new Set(),
    functions: new Set(),
    flags: new Set(),
    unresolved: [],
    usesPrepared: false,
  };
}

/** Where in the tree the walk is; a new state is made only where something changes. */
export interface WalkState {
  /** How a bare RangeVar reached here is used: read, or written/altered (DDL targets). */
  readonly mode: 'read' | 'write';
  /** CTE names in scope: an unqualified FROM reference to one of them is not a relation. */
  readonly ctes: ReadonlySet<string>;
  /** Directly the query of a WITH entry (a DML statement here is a data-modifying CTE). */
  readonly inCte: boolean;
  /** Stored for later, not run now (view, rule, SQL function body, policy, default, check). */
  readonly stored: boolean;
}

const NO_CTES: ReadonlySet<string> = new Set();

export function initialState(mode: 'read' | 'write'): WalkState {
  return { mode, ctes: NO_CTES, inCte: false, stored: false };
}

const DML_KINDS: Readonly<Record<string, StatementKind>> = {
  InsertStmt: 'insert',
  UpdateStmt: 'update',
  DeleteStmt: 'delete',
  MergeStmt: 'merge',
};

const MERGE_ACTIONS: Readonly<Record<string, StatementKind>> = {
  CMD_INSERT: 'insert',
  CMD_UPDATE: 'update',
  CMD_DELETE: 'delete',
};

/** Nodes whose contents are stored for later rather than run by this statement. */
const STORED_NODES = new Set(['ViewStmt', 'RuleStmt', 'CreateFunctionStmt', 'CreatePolicyStmt', 'AlterPolicyStmt', 'CreateTrigStmt', 'Constraint', 'ColumnDef']);

/**
 * Walks a whole parse tree, every object and array, and records relations, functions, nested
 * writes and flags. Only the nodes that change meaning are handled by name: queries and DML
 * (targets, CTE scopes), RangeVars, function calls, EXECUTE, and DDL that names relations with
 * plain identifier lists. Everything else is descended into as it is, so a node type this code
 * does not know still has its relations and calls found.
 *
 * The walk keeps its own stack instead of recursing: left-deep trees (`a || b || ...`, long
 * UNION chains) are as deep as they are long, and must not overflow the JavaScript stack.
 * Children are pushed in reverse so they are visited in document order.
 */
export class TreeWalker {
  /** The work stack: the field name (or node type) each value was found under, and its state. */
  readonly #keys: string[] = [];
  readonly #values: object[] = [];
  readonly #states: WalkState[] = [];

  constructor(
    readonly found: Findings,
    private readonly names: RelationNames,
    private readonly dangerous: DangerousFunctions,
    private readonly prepared: ReadonlyMap<string, StatementClass> | undefined,
    private readonly fullScanTables?: Matcher,
  ) {}

  walk(value: unknown, state: WalkState): void {
    const keys = this.#keys;
    const values = this.#values;
    const states = this.#states;
    const bottom = values.length;
    this.#push('', value, state);
    while (values.length > bottom) this.#visit(keys.pop()!, values.pop()!, states.pop()!);
  }

  #push(key: string, value: unknown, state: WalkState): void {
    if (typeof value !== 'object' || value === null) return;
    this.#keys.push(key);
    this.#values.push(value);
    this.#states.push(state);
  }

  /** Pushes every object-valued field of `node` (or element of an array), last first. */
  #pushChildren(node: object, state: WalkState, skip?: (key: string) => boolean): void {
    if (Array.isArray(node)) {
      for (let index = node.length - 1; index >= 0; index--) this.#push('', node[index], state);
      return;
    }
    const fields = node as PgNode;
    const keys = Object.keys(fields);
    for (let index = keys.length - 1; index >= 0; index--) {
      const key = keys[index]!;
      if (skip === undefined || !skip(key)) this.#push(key, fields[key], state);
    }
  }

  #visit(key: string, value: object, state: WalkState): void {
    const body = value as PgNode;
    switch (key) {
      case 'RangeVar':
        this.#relation(body, state.mode, state);
        return;
      case 'SelectStmt':
      case 'larg': // the arms of UNION/INTERSECT/EXCEPT are bare SelectStmts
      case 'rarg':
        if (key === 'SelectStmt' || typeof body.op === 'string') this.#select(body, state);
        else this.#pushChildren(body, state); // JoinExpr.larg/rarg: wrapped nodes
        return;
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        this.#dml(key, body, state);
        return;
      case 'FuncCall':
      case 'funccall': // CallStmt.funccall is a bare FuncCall
        this.#funcCall(body, state);
        return;
      case 'ExecuteStmt':
        this.#execute(body, state);
        return;
      case 'DoStmt':
        // An anonymous code block: opaque PL code that can do anything.
        this.found.flags.add('unknown_function');
        return;
      case 'CopyStmt':
        this.#copy(body, state);
        return;
      case 'TableLikeClause': // CREATE TABLE x (LIKE y): y is only read
        this.#pushChildren(body, state.mode === 'read' ? state : { ...state, mode: 'read' });
        return;
      case 'pktable': // REFERENCES y: y gets checked, not changed
        this.#relation(body, 'read', state);
        return;
      case 'DropStmt':
      case 'CommentStmt':
      case 'SecLabelStmt':
      case 'RenameStmt':
      case 'AlterObjectSchemaStmt':
        for (const name of namedTargets(key, body, this.names)) this.found.writes.add(name);
        this.#pushChildren(body, state);
        return;
    }
    // A bare RangeVar (a field typed RangeVar): only RangeVar has a string `relname` in raw trees.
    if (typeof body.relname === 'string') this.#relation(body, state.mode, state);
    else this.#pushChildren(body, STORED_NODES.has(key) && !state.stored ? { ...state, stored: true } : state);
  }

  /** Records a RangeVar. A read of an unqualified name that is a CTE in scope is no relation. */
  #relation(rangeVar: PgNode, mode: 'read' | 'write', state: WalkState): void {
    const relname = asString(rangeVar.relname);
    if (relname === undefined) return;
    const schemaname = asString(rangeVar.schemaname);
    if (mode === 'read' && schemaname === undefined && state.ctes.has(relname)) return;
    const name = this.names.qualify(schemaname, relname, rangeVar.relpersistence === 't');
    (mode === 'write' ? this.found.writes : this.found.reads).add(name);
  }

  #select(body: PgNode, state: WalkState): void {
    if (body.fromClause !== undefined && !state.stored) this.found.operations.add('select');
    const into = asNode(body.intoClause);
    if (into !== undefined) {
      // SELECT ... INTO creates a table.
      this.found.operations.add('ddl');
      this.found.flags.add('select_into');
      const rel = asNode(into.rel);
      if (rel !== undefined) this.#relation(rel, 'write', state);
    }
    const ctes = this.#cteScope(body.withClause, state);
    if (this.fullScanTables && body.whereClause === undefined && body.limitCount === undefined && this.#scansListed(body.fromClause, ctes)) {
      this.found.flags.add('full_scan');
    }
    const inner: WalkState = state.mode === 'read' && ctes === state.ctes && !state.inCte ? state : { ...state, mode: 'read', ctes, inCte: false };
    this.#pushChildren(body, inner, (key) => key === 'withClause' || key === 'intoClause');
    this.#pushCtes(body.withClause, state);
  }

  /** Whether a FROM list (joins followed) reads a listed table directly: every row of it, with no WHERE or LIMIT. */
  #scansListed(fromClause: unknown, ctes: ReadonlySet<string>): boolean {
    const items = [...asList(fromClause)];
    while (items.length > 0) {
      const item = asNode(items.pop());
      const rangeVar = asNode(item?.RangeVar);
      if (rangeVar !== undefined) {
        const relname = asString(rangeVar.relname);
        const schemaname = asString(rangeVar.schemaname);
        if (relname === undefined || (schemaname === undefined && ctes.has(relname))) continue;
        if (this.fullScanTables!(this.names.qualify(schemaname, relname, rangeVar.relpersistence === 't'))) return true;
      }
      const join = asNode(item?.JoinExpr);
      if (join !== undefined) items.push(join.larg, join.rarg);
    }
    return false;
  }

  #dml(type: string, body: PgNode, state: WalkState): void {
    const kind = DML_KINDS[type]!;
    this.found.operations.add(kind);
    if (state.inCte) this.found.flags.add('cte_write');
    // The target is never a CTE name: PostgreSQL looks targets up as tables.
    const target = asNode(body.relation);
    if (target !== undefined) this.#relation(target, 'write', state);
    // WHERE CURRENT OF counts as a WHERE: it touches the cursor's current row only.
    if ((type === 'UpdateStmt' || type === 'DeleteStmt') && body.whereClause === undefined) this.found.flags.add('no_where');
    if (type === 'InsertStmt' && asNode(body.onConflictClause)?.action === 'ONCONFLICT_UPDATE') this.found.operations.add('update');
    if (type === 'MergeStmt') {
      for (const clause of asList(body.mergeWhenClauses)) {
        const action = MERGE_ACTIONS[asString(asNode(asNode(clause)?.MergeWhenClause)?.commandType) ?? ''];
        if (action !== undefined) this.found.operations.add(action);
      }
    }
    // Reading other relations is a select of its own: UPDATE ... FROM, DELETE ... USING, MERGE's source.
    if ((body.fromClause !== undefined || body.usingClause !== undefined || body.sourceRelation !== undefined) && !state.stored) this.found.operations.add('select');
    const ctes = this.#cteScope(body.withClause, state);
    this.#pushChildren(body, { ...state, mode: 'read', ctes, inCte: false }, (key) => key === 'withClause' || key === 'relation');
    this.#pushCtes(body.withClause, state);
  }

  #funcCall(body: PgNode, state: WalkState): void {
    const parts = stringList(body.funcname);
    if (parts.length > 0) {
      this.found.functions.add(parts.join('.'));
      if (this.dangerous.matches(parts)) this.found.flags.add('dangerous_function');
      if (!isReadOnlyFunction(parts)) this.found.flags.add('unknown_function');
    }
    this.#pushChildren(body, state, (key) => key === 'funcname');
  }

  /** EXECUTE name: what the prepared statement does, when the session told us about it. */
  #execute(body: PgNode, state: WalkState): void {
    const name = asString(body.name) ?? '';
    this.found.usesPrepared = true;
    const prepared = this.prepared?.get(name);
    if (prepared === undefined) this.found.unresolved.push(name);
    else this.#merge(prepared);
    // Parameters are expressions: they can call functions and run subqueries.
    this.#push('params', body.params, { ...state, mode: 'read' });
  }

  #merge(statement: StatementClass): void {
    const found = this.found;
    for (const operation of statement.operations) found.operations.add(operation);
    for (const name of statement.reads) found.reads.add(name);
    for (const name of statement.writes) found.writes.add(name);
    for (const name of statement.functions) found.functions.add(name);
    for (const flag of statement.flags) found.flags.add(flag);
    if (statement.executes !== undefined) found.unresolved.push(statement.executes);
  }

  #copy(body: PgNode, state: WalkState): void {
    const relation = asNode(body.relation);
    if (relation !== undefined) this.#relation(relation, body.is_from === true ? 'write' : 'read', state);
    // PROGRAM runs a shell command on the database host. A server-side file (a filename without
    // PROGRAM) reads or writes the host's file system: no flag names that, and it is as
    // dangerous, so it carries the same flag.
    if (body.is_program === true || body.filename !== undefined) this.found.flags.add('copy_program');
    const inner: WalkState = { ...state, mode: 'read' };
    this.#push('whereClause', body.whereClause, inner);
    this.#push('query', body.query, inner);
  }

  /** The CTE names visible in the body of a statement with this WITH clause. */
  #cteScope(value: unknown, state: WalkState): ReadonlySet<string> {
    const clause = asNode(value);
    if (clause === undefined) return state.ctes;
    const names = new Set(state.ctes);
    for (const cte of ctesOf(clause)) names.add(asString(cte.ctename) ?? '');
    return names;
  }

  /**
   * Pushes the WITH entries' queries. WITH RECURSIVE: every entry sees every name; otherwise an
   * entry sees only the earlier ones, so `WITH t AS (SELECT * FROM t)` reads the real table t.
   */
  #pushCtes(value: unknown, state: WalkState): void {
    const clause = asNode(value);
    if (clause === undefined) return;
    const entries = ctesOf(clause);
    const all = this.#cteScope(clause, state);
    const visible = new Set(state.ctes);
    const scopes = entries.map((cte) => {
      const scope: ReadonlySet<string> = clause.recursive === true ? all : new Set(visible);
      visible.add(asString(cte.ctename) ?? '');
      return scope;
    });
    for (let index = entries.length - 1; index >= 0; index--) {
      this.#push('', entries[index]!.ctequery, { mode: 'read', ctes: scopes[index]!, inCte: true, stored: state.stored });
    }
  }
}

function ctesOf(clause: PgNode): PgNode[] {
  const entries: PgNode[] = [];
  for (const entry of asList(clause.ctes)) {
    const cte = asNode(asNode(entry)?.CommonTableExpr);
    if (cte !== undefined) entries.push(cte);
  }
  return entries;
}
