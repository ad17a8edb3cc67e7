import type { ColumnOrigin, SourceColumn } from './catalog-types.js';
import { field, intField, isNode, listField, nodeField, nodeListField, stringField, boolField, type TreeNode, type TreeValue } from './node-tree.js';

// Where a view's columns come from, read from its stored query tree (pg_rewrite.ev_action, as
// node-tree.ts parses it). Each output column's expression is followed to the base-table
// columns it reads: through subqueries in FROM, joins, CTEs, set operations (every arm),
// GROUP BY (PostgreSQL 18's RTE_GROUP), sublinks, and other views (whose columns the caller
// answers). Anything not a plain column reference is `derived`, with every column it reads as a
// source, so a rule on any of them still applies.

/** The origin of a column of a relation a view reads (attnum 0: the whole row); throws when unknown. */
export type RelationColumn = (relationOid: number, attnum: number) => ColumnOrigin;

/** RTEKind in PostgreSQL 18's parsenodes.h (RTE_GROUP is new in 18). */
const RteKind = { Relation: 0, Subquery: 1, Join: 2, Function: 3, TableFunc: 4, Values: 5, Cte: 6, NamedTupleStore: 7, Result: 8, Group: 9 } as const;

/** Far beyond any real nesting; a bound so a malformed tree fails instead of looping. */
const MAX_DEPTH = 1000;
/** Steps per view: a backstop so no definition can stall the gateway (a real view takes a few per column). */
const MAX_STEPS = 1_000_000;

const NOTHING: ColumnOrigin = { sources: [], derived: false };

export class ViewResolutionError extends Error {
  override readonly name = 'ViewResolutionError';
}

/** The Query of a view's `_RETURN` rule (ev_action is a one-element list). */
export function ruleQuery(evAction: TreeValue): TreeNode {
  if (typeof evAction !== 'object' || evAction === null || evAction.kind !== 'list' || evAction.items.length !== 1 || !isNode(evAction.items[0], 'QUERY')) {
    throw new ViewResolutionError('its rule is not a single query');
  }
  return evAction.items[0];
}

/** OIDs of every relation a query tree reads, at any depth (sublinks, CTEs, subqueries). */
export function referencedRelations(tree: TreeValue): Set<number> {
  const relations = new Set<number>();
  walk(tree, (node) => {
    if (node.name === 'RANGETBLENTRY' && intField(node, 'rtekind') === RteKind.Relation) relations.add(intField(node, 'relid'));
    return true;
  });
  return relations;
}

/** The origins of a view's columns (by attribute number = target entry resno). */
export function viewColumnOrigins(query: TreeNode, attnums: readonly number[], relationColumn: RelationColumn): Map<number, ColumnOrigin> {
  const resolver = new Resolver(relationColumn);
  return new Map(attnums.map((attnum) => [attnum, resolver.target(query, [query], attnum)]));
}

/** Unites origins: sources without repeats, derived when `derived` or any part is. */
export function mergeOrigins(parts: readonly ColumnOrigin[], derived: boolean): ColumnOrigin {
  if (parts.length === 1 && (parts[0]!.derived || !derived)) return parts[0]!;
  const seen = new Set<string>();
  const sources: SourceColumn[] = [];
  for (const part of parts) {
    derived ||= part.derived;
    for (const source of part.sources) {
      const key = `${source.schema}\0${source.table}\0${source.column}`;
      if (seen.has(key)) continue;
      seen.add(key);
      sources.push(source);
    }
  }
  return { sources, derived };
}

/**
 * Resolves within a stack of queries, outermost first: a VAR's varlevelsup counts back from the
 * innermost, and a subquery's stack is its parent's plus itself.
 */
class Resolver {
  #depth = 0;
  #steps = 0;
  /** CTE queries and columns being resolved: a recursive CTE's self-reference adds nothing new. */
  readonly #busy = new Map<TreeNode, Set<number>>();
  /** Times a self-reference was cut short: an answer computed across one is partial, not kept. */
  #cuts = 0;
  /**
   * Output columns already followed. A query node sits at one place in the tree, so its stack is
   * always the same; without this, a view whose columns each read the one below twice would
   * take 2^depth steps.
   */
  readonly #done = new Map<TreeNode, Map<number, ColumnOrigin>>();

  constructor(private readonly relationColumn: RelationColumn) {}

  /** Output column `resno` of `query` (the last of `stack`). */
  target(query: TreeNode, stack: readonly TreeNode[], resno: number): ColumnOrigin {
    const done = this.#done.get(query)?.get(resno);
    if (done) return done;
    this.#enter();
    const cuts = this.#cuts;
    try {
      const origin = this.#follow(query, stack, resno);
      if (this.#cuts === cuts) {
        let columns = this.#done.get(query);
        if (!columns) this.#done.set(query, (columns = new Map()));
        columns.set(resno, origin);
      }
      return origin;
    } finally {
      this.#depth--;
    }
  }

  #follow(query: TreeNode, stack: readonly TreeNode[], resno: number): ColumnOrigin {
    // A set operation's target list points at its left arm only; the values come from every arm.
    const setOperations = nodeField(query, 'setOperations');
    if (setOperations) return mergeOrigins(setOperationArms(setOperations).map((rtindex) => this.#rangeEntry(rangeEntry(query, rtindex), stack, resno)), false);
    const entry = targetEntries(query).find((candidate) => intField(candidate, 'resno') === resno);
    if (!entry) throw new ViewResolutionError(`its query has no output column ${resno}`);
    return this.#expression(field(entry, 'expr'), stack);
  }

  #expression(expression: TreeValue, stack: readonly TreeNode[]): ColumnOrigin {
    if (isNode(expression, 'VAR')) return this.#var(expression, stack);
    // A binary-compatible cast (varchar to text) leaves the value as stored.
    if (isNode(expression, 'RELABELTYPE')) return this.#expression(field(expression, 'arg'), stack);
    return mergeOrigins(this.#reads(expression, stack), true);
  }

  /** Every column an expression reads, at any depth, including inside sublinks. */
  #reads(expression: TreeValue, stack: readonly TreeNode[]): ColumnOrigin[] {
    const parts: ColumnOrigin[] = [];
    walk(expression, (node) => {
      if (node.name === 'VAR') parts.push(this.#var(node, stack));
      else if (node.name === 'QUERY') parts.push(this.#sublink(node, stack));
      else return true;
      return false;
    });
    return parts;
  }

  /** A sublink's query as a value: its output columns, and what its conditions read (EXISTS, counts). */
  #sublink(query: TreeNode, stack: readonly TreeNode[]): ColumnOrigin {
    const inner = [...stack, query];
    const parts = outputColumns(query).map((resno) => this.target(query, inner, resno));
    parts.push(...this.#reads(field(query, 'jointree'), inner), ...this.#reads(field(query, 'havingQual'), inner));
    return mergeOrigins(parts, true);
  }

  #var(node: TreeNode, stack: readonly TreeNode[]): ColumnOrigin {
    const level = stack.length - 1 - intField(node, 'varlevelsup');
    const query = stack[level];
    if (!query) throw new ViewResolutionError('a column reference points outside its query');
    return this.#rangeEntry(rangeEntry(query, intField(node, 'varno')), stack.slice(0, level + 1), intField(node, 'varattno'));
  }

  /** Column `attnum` (0: the whole row) of a range table entry of the last query of `stack`. */
  #rangeEntry(rte: TreeNode, stack: readonly TreeNode[], attnum: number): ColumnOrigin {
    this.#enter();
    try {
      const kind = intField(rte, 'rtekind');
      switch (kind) {
        case RteKind.Relation:
          return this.relationColumn(intField(rte, 'relid'), attnum);
        case RteKind.Subquery: {
          const subquery = requiredNode(rte, 'subquery');
          return this.#columns(subquery, [...stack, subquery], attnum);
        }
        case RteKind.Join:
          return this.#listed(listField(rte, 'joinaliasvars'), stack, attnum, 'join column');
        case RteKind.Group:
          return this.#listed(listField(rte, 'groupexprs'), stack, attnum, 'GROUP BY expression');
        case RteKind.Values:
          // A VALUES column is whichever row's expression: every row counts.
          return mergeOrigins(
            listField(rte, 'values_lists').map((row) => {
              if (typeof row !== 'object' || row === null || row.kind !== 'list') throw new ViewResolutionError('a VALUES row is not a list');
              return this.#listed(row.items, stack, attnum, 'VALUES column');
            }),
            false,
          );
        case RteKind.Function:
          // A function's result is opaque: what it reads inside is not visible here, only its arguments.
          return mergeOrigins(this.#reads(field(rte, 'functions'), stack), true);
        case RteKind.TableFunc:
          return mergeOrigins(this.#reads(field(rte, 'tablefunc'), stack), true);
        case RteKind.Cte:
          return this.#cte(rte, stack, attnum);
        default:
          throw new ViewResolutionError(`it reads a range table entry of kind ${kind}, which Sluice does not resolve`);
      }
    } finally {
      this.#depth--;
    }
  }

  /** Output column `attnum` of a query, or all of them for 0. */
  #columns(query: TreeNode, stack: readonly TreeNode[], attnum: number): ColumnOrigin {
    if (attnum !== 0) return this.target(query, stack, attnum);
    return mergeOrigins(outputColumns(query).map((resno) => this.target(query, stack, resno)), false);
  }

  /** Item `attnum` (1-based) of an expression list, or all of them for 0. */
  #listed(items: readonly TreeValue[], stack: readonly TreeNode[], attnum: number, what: string): ColumnOrigin {
    if (attnum === 0) return mergeOrigins(items.filter((item) => item !== null).map((item) => this.#expression(item, stack)), false);
    const item = items[attnum - 1];
    // Stored rules keep NULL placeholders for dropped join columns; nothing can reference them.
    if (item === undefined || item === null) throw new ViewResolutionError(`it references ${what} ${attnum}, which does not exist`);
    return this.#expression(item, stack);
  }

  #cte(rte: TreeNode, stack: readonly TreeNode[], attnum: number): ColumnOrigin {
    const ownerLevel = stack.length - 1 - intField(rte, 'ctelevelsup');
    const owner = stack[ownerLevel];
    const name = stringField(rte, 'ctename');
    const cte = owner && nodeListField(owner, 'cteList', 'COMMONTABLEEXPR').find((candidate) => stringField(candidate, 'ctename') === name);
    if (!cte) throw new ViewResolutionError(`it reads a WITH query "${name ?? ''}" that its query does not define`);
    const query = requiredNode(cte, 'ctequery');
    if (query.name !== 'QUERY') throw new ViewResolutionError(`its WITH query "${name ?? ''}" is not a query`);
    let busy = this.#busy.get(query);
    if (busy?.has(attnum)) {
      this.#cuts++;
      return NOTHING;
    }
    if (!busy) this.#busy.set(query, (busy = new Set()));
    busy.add(attnum);
    try {
      return this.#columns(query, [...stack.slice(0, ownerLevel + 1), query], attnum);
    } finally {
      busy.delete(attnum);
    }
  }

  #enter(): void {
    if (++this.#steps > MAX_STEPS) throw new ViewResolutionError(`its definition takes more than ${MAX_STEPS} steps to follow`);
    if (++this.#depth > MAX_DEPTH) {
      this.#depth--;
      throw new ViewResolutionError(`its definition nests deeper than ${MAX_DEPTH} levels`);
    }
  }
}

function targetEntries(query: TreeNode): readonly TreeNode[] {
  return nodeListField(query, 'targetList', 'TARGETENTRY');
}

/** The resnos of a query's output columns (junk entries carry ORDER BY values, never output). */
function outputColumns(query: TreeNode): number[] {
  return targetEntries(query)
    .filter((entry) => !boolField(entry, 'resjunk'))
    .map((entry) => intField(entry, 'resno'));
}

function rangeEntry(query: TreeNode, index: number): TreeNode {
  const rte = nodeListField(query, 'rtable', 'RANGETBLENTRY')[index - 1];
  if (!rte) throw new ViewResolutionError(`a column reference points at range table entry ${index}, which does not exist`);
  return rte;
}

function requiredNode(node: TreeNode, name: string): TreeNode {
  const value = nodeField(node, name);
  if (!value) throw new ViewResolutionError(`a ${node.name} node has no ${name}`);
  return value;
}

/** The range table indexes of a set operation's arms, nested operations flattened. */
function setOperationArms(operation: TreeNode): number[] {
  const arms: number[] = [];
  const todo: TreeNode[] = [operation];
  for (let next = todo.pop(); next; next = todo.pop()) {
    if (next.name === 'RANGETBLREF') arms.push(intField(next, 'rtindex'));
    else if (next.name === 'SETOPERATIONSTMT') todo.push(requiredNode(next, 'rarg'), requiredNode(next, 'larg'));
    else throw new ViewResolutionError(`a set operation has a ${next.name} arm`);
  }
  return arms;
}

/** Visits every node under `value`, iteratively; `visit` returns false to skip a node's fields. */
function walk(value: TreeValue, visit: (node: TreeNode) => boolean): void {
  const todo: TreeValue[] = [value];
  while (todo.length > 0) {
    const next = todo.pop()!;
    if (next === null || typeof next === 'string' || next.kind === 'datum') continue;
    if (next.kind === 'list') {
      for (let index = next.items.length - 1; index >= 0; index--) todo.push(next.items[index]!);
    } else if (visit(next)) {
      // Reversed onto the stack, so nodes are visited (and sources listed) in written order.
      const children = [...next.fields.values()];
      for (let index = children.length - 1; index >= 0; index--) todo.push(children[index]!);
    }
  }
}
