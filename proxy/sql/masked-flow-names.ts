import type { StatementParts } from './masked-flow-collect.js';
import { resTargets } from './masked-flow-collect.js';
import type { Mention, Origin, Origins, Outputs } from './masked-flow-origins.js';
import { addTo, concat, EMPTY, isCount, isSetOperation, key, merge, mergeAll, origin, originsOfRelation, outputName, rename, union } from './masked-flow-origins.js';
import { wrapped } from './masked-flow-text.js';
import type { MaskedRelation, MaskedSchema } from './masked-flow-types.js';
import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';

// Name-based resolution of masked columns for one statement. No exact scoping: a name is
// masked in the whole statement when any relation it names masks a column of that name, or
// when any select list, alias list or CTE column list gives that name to a value reading a
// masked name. Over-approximating is the safe way to be wrong here: a name wrongly thought
// masked costs a false positive; the other way round would miss a flow.

/** Nested FROM subqueries deeper than this are resolved to every origin in the statement. */
const MAX_OUTPUT_DEPTH = 64;
/** A backstop: each round adds at least one (name, origin) pair, so real statements settle in a few. */
const MAX_ROUNDS = 10_000;

export class MaskedNames {
  readonly #names = new Map<string, Map<string, Origin>>();
  readonly #rows = new Map<string, Map<string, Origin>>();
  /** Row sources that are a subquery, CTE or function rather than a relation. */
  readonly #derivedRows = new Set<string>();
  readonly #known = new Set<string>();
  /** RangeVar body -> the relation it names, when the catalog knows it. */
  readonly #relations = new Map<PgNode, { readonly name: string; readonly relation: MaskedRelation }>();
  /** Queries whose outputs are being computed: a recursive CTE's self-reference adds nothing new. */
  readonly #busy = new Set<PgNode>();
  /** Every origin of every relation the statement names: the answer when resolution gives up. */
  readonly #all = new Map<string, Origin>();
  #memo = new Map<PgNode, Outputs>();
  #changed = false;

  constructor(
    private readonly parts: StatementParts,
    schema: MaskedSchema,
  ) {
    for (const [rangeVar, target] of parts.rangeVars) {
      if (target.kind !== 'relation') continue;
      const relation = schema.relation(target.name);
      if (relation === undefined) continue;
      for (const column of relation.columns) this.#known.add(column);
      this.#relations.set(rangeVar, { name: target.name, relation });
    }
    for (const name of parts.aliasNames) this.#known.add(name);
    // An explicit output alias is a column name; a bare `u` in a select list names the row it reads.
    for (const { target } of parts.targets) if (typeof target.name === 'string') this.#known.add(target.name);
    this.#seed();
    this.#settle();
  }

  /** The origins a masked name carries; undefined when the name is not masked. */
  originsOfName(name: string): Origins | undefined {
    return this.#names.get(name);
  }

  /**
   * A lone name that reads the whole row of a query or function (not of a relation): such a
   * record has no table OID in RowDescription, so even bare it leaves masking behind.
   */
  isDerivedRow(name: string): boolean {
    return this.#derivedRows.has(name);
  }

  /** The masked columns of the relation a RangeVar body names, as origins (empty when none). */
  relationOrigins(rangeVar: PgNode): Origins {
    const found = this.maskedRelation(rangeVar);
    return found === undefined ? EMPTY : originsOfRelation(found.name, found.relation);
  }

  /** The masked relation a RangeVar body names, if it has masked columns. */
  maskedRelation(rangeVar: PgNode): { readonly name: string; readonly relation: MaskedRelation } | undefined {
    const found = this.#relations.get(rangeVar);
    return found !== undefined && found.relation.masked.size > 0 ? found : undefined;
  }

  /** Masked column names of the relations the statement names (not derived names). */
  baseNames(): Map<string, Map<string, Origin>> {
    const base = new Map<string, Map<string, Origin>>();
    for (const { name, relation } of this.#relations.values()) {
      for (const [column, rule] of relation.masked) addTo(base, column, [origin(name, column, rule)]);
    }
    return base;
  }

  /** The output columns of a FROM item or query (wrapped node), for NATURAL joins. */
  itemOutputs(item: unknown): Outputs {
    return this.#item(item, 0);
  }

  /**
   * What a value reads of masked columns. `owner` is the statement whose FROM a bare `*`
   * expands over. count(...) reveals no value and is skipped; so are FILTER and OVER, which
   * only choose rows. A sublink contributes what it outputs (its select list and test
   * expression), not its WHERE: that is a predicate, like the statement's own.
   */
  mentions(value: unknown, owner: PgNode | undefined): Mention[] {
    const found: Mention[] = [];
    const stack: { value: unknown; owner: PgNode | undefined; outputs: boolean }[] = [{ value, owner, outputs: false }];
    while (stack.length > 0) {
      const entry = stack.pop()!;
      if (entry.outputs) {
        const select = asNode(entry.value);
        if (select !== undefined) this.#pushOutputs(select, stack);
        continue;
      }
      const current = entry.value;
      if (Array.isArray(current)) {
        for (const item of current) stack.push({ value: item, owner: entry.owner, outputs: false });
        continue;
      }
      const node = asNode(current);
      if (node === undefined) continue;
      const [type, body] = wrapped(node) ?? ['', node];
      if (type === 'ColumnRef') {
        this.#columnRef(asList(body.fields), entry.owner, found);
      } else if (type === 'A_Indirection' && this.#field(body, found)) {
        continue;
      } else if (type === 'FuncCall') {
        if (isCount(body)) continue;
        stack.push({ value: body.args, owner: entry.owner, outputs: false });
        stack.push({ value: body.agg_order, owner: entry.owner, outputs: false });
      } else if (type === 'SubLink') {
        stack.push({ value: body.testexpr, owner: entry.owner, outputs: false });
        const select = wrapped(body.subselect)?.[1];
        if (body.subLinkType !== 'EXISTS_SUBLINK' && select !== undefined) stack.push({ value: select, owner: undefined, outputs: true });
      } else {
        for (const key in body) stack.push({ value: body[key], owner: entry.owner, outputs: false });
      }
    }
    return found;
  }

  /** The origins a FROM clause's items carry (what `*` over them reads). */
  fromOrigins(owner: PgNode): Origins {
    const merged = new Map<string, Origin>();
    const target = asNode(owner.relation);
    if (target !== undefined && typeof target.relname === 'string') merge(merged, this.relationOrigins(target));
    for (const list of [owner.fromClause, owner.usingClause, [owner.sourceRelation]]) {
      for (const item of asList(list)) if (item !== undefined) merge(merged, union(this.#item(item, 0)));
    }
    return merged;
  }

  /** Pushes what a (sub)select outputs: select-list values, VALUES rows, every set-operation arm. */
  #pushOutputs(select: PgNode, stack: { value: unknown; owner: PgNode | undefined; outputs: boolean }[]): void {
    if (isSetOperation(select)) {
      stack.push({ value: select.larg, owner: undefined, outputs: true });
      stack.push({ value: select.rarg, owner: undefined, outputs: true });
      return;
    }
    for (const target of resTargets(select.targetList)) stack.push({ value: target.val, owner: select, outputs: false });
    stack.push({ value: select.valuesLists, owner: select, outputs: false });
  }

  /**
   * `(u).ssn` of a whole row: the field of that name when the row carries one, else (a
   * composite whose field names differ) the whole row. False when this is no such selection.
   */
  #field(indirection: PgNode, found: Mention[]): boolean {
    const fields = asList(asNode(asNode(indirection.arg)?.ColumnRef)?.fields);
    const field = asString(asNode(asNode(asList(indirection.indirection)[0])?.String)?.sval);
    const row = fields.length === 1 ? asString(asNode(asNode(fields[0])?.String)?.sval) : undefined;
    if (field === undefined || row === undefined) return false;
    const origins = this.#rowOrigins(row) ?? this.#names.get(row);
    if (origins === undefined) return false;
    const named = [...origins.values()].filter((origin) => origin.column.endsWith(`.${field}`));
    for (const origin of named.length > 0 ? named : origins.values()) found.push({ name: `(${row}).${field}`, origin, whole: true });
    return true;
  }

  /** The origins of a lone name that is a row source and no column (`u` in `to_jsonb(u)`). */
  #rowOrigins(name: string): Origins | undefined {
    return this.#known.has(name) ? undefined : this.#rows.get(name);
  }

  #columnRef(fields: readonly unknown[], owner: PgNode | undefined, found: Mention[]): void {
    const last = asNode(fields.at(-1));
    if (last?.A_Star !== undefined) {
      if (fields.length === 1) {
        if (owner !== undefined) for (const origin of this.fromOrigins(owner).values()) found.push({ name: '*', origin, whole: true });
        return;
      }
      const source = asString(asNode(asNode(fields.at(-2))?.String)?.sval) ?? '';
      for (const origin of this.#rows.get(source)?.values() ?? []) found.push({ name: `${source}.*`, origin, whole: true });
      return;
    }
    const name = asString(asNode(last?.String)?.sval);
    if (name === undefined) return;
    const row = fields.length === 1 ? this.#rowOrigins(name) : undefined;
    for (const origin of row?.values() ?? []) found.push({ name, origin, whole: true });
    // A name can also be masked as a column (an output named after a row, `SELECT u`).
    for (const origin of this.#names.get(name)?.values() ?? []) if (!row?.has(key(origin))) found.push({ name, origin, whole: false });
  }

  /** What never changes: relation columns, their alias lists, and rows named by relation or alias. */
  #seed(): void {
    for (const [rangeVar, { name, relation }] of this.#relations) {
      if (relation.masked.size === 0) continue;
      const origins = originsOfRelation(name, relation);
      merge(this.#all, origins);
      for (const [column, rule] of relation.masked) this.#add(this.#names, column, [origin(name, column, rule)]);
      // `users u(a, b, c)` renames columns by position.
      const renamed = stringList(asNode(rangeVar.alias)?.colnames);
      relation.columns.forEach((column, index) => {
        const rule = relation.masked.get(column);
        if (rule !== undefined && renamed[index] !== undefined) this.#add(this.#names, renamed[index], [origin(name, column, rule)]);
      });
      this.#add(this.#rows, asString(asNode(rangeVar.alias)?.aliasname) ?? asString(rangeVar.relname) ?? '', origins.values());
    }
    for (const rangeVar of this.parts.newOld) {
      const origins = this.relationOrigins(rangeVar);
      this.#add(this.#rows, 'new', origins.values());
      this.#add(this.#rows, 'old', origins.values());
    }
  }

  /** Propagates masked names through select lists, aliases and CTEs until nothing changes. */
  #settle(): void {
    for (let round = 0; ; round++) {
      if (round >= MAX_ROUNDS) throw new Error('Masked-column names did not settle: the statement is too complex to analyze.');
      this.#changed = false;
      this.#memo = new Map();
      for (const { target, owner } of this.parts.targets) {
        this.#add(this.#names, outputName(target), this.mentions(target.val, owner).map((mention) => mention.origin));
      }
      for (const subselect of this.parts.subselects) {
        const outputs = this.#statement(subselect.subquery, 0);
        this.#columns(outputs);
        this.#alias(subselect.alias, outputs);
      }
      for (const cte of this.parts.ctes) {
        const outputs = this.#cte(cte, 0);
        this.#columns(outputs);
        this.#derivedRows.add(asString(cte.ctename) ?? '');
        this.#add(this.#rows, asString(cte.ctename) ?? '', union(outputs).values());
      }
      for (const [rangeVar, target] of this.parts.rangeVars) {
        if (target.kind !== 'cte') continue;
        const alias = asNode(rangeVar.alias);
        if (alias !== undefined) this.#alias(alias, this.#cte(target.cte, 0));
      }
      for (const item of this.parts.functionItems) {
        const origins = this.mentions({ ...item, alias: undefined }, undefined).map((mention) => mention.origin);
        const alias = asNode(item.alias);
        // A function alias names its row and, for a scalar function, its one column.
        for (const name of [asString(alias?.aliasname), ...stringList(alias?.colnames)]) {
          if (name !== undefined) this.#add(this.#names, name, origins);
        }
        if (alias !== undefined) {
          this.#derivedRows.add(asString(alias.aliasname) ?? '');
          this.#add(this.#rows, asString(alias.aliasname) ?? '', origins);
        }
      }
      if (!this.#changed) return;
    }
  }

  /** A query's output names: a set operation's come from its leftmost arm, VALUES makes column1.... */
  #columns(outputs: Outputs): void {
    for (const column of outputs.columns) if (column.name !== undefined) this.#add(this.#names, column.name, column.origins.values());
  }

  /** An alias of a query's outputs: its name is a row source, its column list renames positionally. */
  #alias(aliasValue: unknown, outputs: Outputs): void {
    const alias = asNode(aliasValue);
    if (alias === undefined) return;
    const all = union(outputs);
    this.#derivedRows.add(asString(alias.aliasname) ?? '');
    this.#add(this.#rows, asString(alias.aliasname) ?? '', all.values());
    stringList(alias.colnames).forEach((name, index) => {
      const column = outputs.precise ? outputs.columns[index] : undefined;
      this.#add(this.#names, name, (column === undefined && !outputs.precise ? all : (column?.origins ?? EMPTY)).values());
    });
  }

  #cte(cte: PgNode, depth: number): Outputs {
    const outputs = this.#statement(cte.ctequery, depth + 1);
    const renamed = stringList(cte.aliascolnames);
    if (renamed.length === 0) return outputs;
    const all = union(outputs);
    const columns = renamed.map((name, index) => {
      const origins = outputs.precise ? (outputs.columns[index]?.origins ?? EMPTY) : all;
      this.#add(this.#names, name, origins.values());
      return { name, origins };
    });
    return { columns: [...columns, ...outputs.columns.slice(renamed.length)], precise: outputs.precise };
  }

  /** The outputs of a query given as a wrapped node (SELECT, or DML with RETURNING). */
  #statement(value: unknown, depth: number): Outputs {
    const node = wrapped(value);
    if (node === undefined) return { columns: [], precise: false };
    const [type, body] = node;
    if (type === 'SelectStmt') return this.#select(body, depth);
    const returning = resTargets(asNode(body.returningClause)?.exprs);
    return this.#targets(returning, body, depth);
  }

  #select(select: PgNode, depth: number): Outputs {
    const cached = this.#memo.get(select);
    if (cached !== undefined) return cached;
    if (this.#busy.has(select)) return { columns: [], precise: false };
    this.#busy.add(select);
    let outputs: Outputs;
    if (depth > MAX_OUTPUT_DEPTH) {
      outputs = { columns: [{ name: undefined, origins: this.#all }], precise: false };
    } else if (isSetOperation(select)) {
      outputs = this.#setOperation(select, depth);
    } else if (select.valuesLists !== undefined) {
      const columns: { name: string; origins: Map<string, Origin> }[] = [];
      for (const row of asList(select.valuesLists)) {
        asList(asNode(asNode(row)?.List)?.items).forEach((value, index) => {
          columns[index] ??= { name: `column${index + 1}`, origins: new Map() };
          for (const mention of this.mentions(value, select)) columns[index]!.origins.set(key(mention.origin), mention.origin);
        });
      }
      outputs = { columns, precise: true };
    } else {
      outputs = this.#targets(resTargets(select.targetList), select, depth);
    }
    this.#busy.delete(select);
    this.#memo.set(select, outputs);
    return outputs;
  }

  /** Set operations name their columns after the leftmost arm; each column carries every arm's value. */
  #setOperation(select: PgNode, depth: number): Outputs {
    const arms: PgNode[] = [];
    const stack: PgNode[] = [select];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (!isSetOperation(current)) arms.push(current);
      else for (const arm of [current.rarg, current.larg]) if (asNode(arm) !== undefined) stack.push(asNode(arm)!);
    }
    const results = arms.map((arm) => this.#select(arm, depth + 1));
    const first = results[0] ?? { columns: [], precise: false };
    const precise = results.every((result) => result.precise && result.columns.length === first.columns.length);
    if (!precise) return { columns: [...first.columns, { name: undefined, origins: mergeAll(results.map(union)) }], precise: false };
    const columns = first.columns.map((column, index) => ({ name: column.name, origins: mergeAll(results.map((result) => result.columns[index]!.origins)) }));
    return { columns, precise: true };
  }

  #targets(targets: readonly PgNode[], owner: PgNode, depth: number): Outputs {
    const columns: { name: string | undefined; origins: Origins }[] = [];
    let precise = true;
    for (const target of targets) {
      const fields = asList(asNode(asNode(target.val)?.ColumnRef)?.fields);
      if (fields.length > 0 && asNode(fields.at(-1))?.A_Star !== undefined) {
        const expanded = fields.length === 1 ? this.#from(owner, depth) : this.#qualifiedStar(owner, fields, depth);
        columns.push(...expanded.columns);
        precise &&= expanded.precise;
        continue;
      }
      const origins = new Map<string, Origin>();
      for (const mention of this.mentions(target.val, owner)) origins.set(key(mention.origin), mention.origin);
      columns.push({ name: outputName(target), origins });
    }
    return { columns, precise };
  }

  /** `*` over a statement's FROM (and, for DML RETURNING, its target relation). */
  #from(owner: PgNode, depth: number): Outputs {
    const items: unknown[] = [];
    const target = asNode(owner.relation);
    if (target !== undefined && typeof target.relname === 'string') items.push({ RangeVar: target });
    for (const list of [owner.fromClause, owner.usingClause, [owner.sourceRelation]]) for (const item of asList(list)) if (item !== undefined) items.push(item);
    return concat(items.map((item) => this.#item(item, depth)));
  }

  /** `x.*`: the FROM item named x, or the row source x when it is not found there. */
  #qualifiedStar(owner: PgNode, fields: readonly unknown[], depth: number): Outputs {
    const source = asString(asNode(asNode(fields.at(-2))?.String)?.sval) ?? '';
    const stack: unknown[] = [...asList(owner.fromClause), ...asList(owner.usingClause), owner.sourceRelation];
    while (stack.length > 0) {
      const [type, body] = wrapped(stack.pop()) ?? ['', {}];
      if (type === 'JoinExpr') stack.push(body.larg, body.rarg);
      else if ((asString(asNode(body.alias)?.aliasname) ?? asString(body.relname)) === source) return this.#item({ [type]: body }, depth);
    }
    return { columns: [{ name: undefined, origins: this.#rows.get(source) ?? EMPTY }], precise: false };
  }

  /** The output columns of one FROM item (wrapped node). */
  #item(value: unknown, depth: number): Outputs {
    const node = wrapped(value);
    if (node === undefined) return { columns: [], precise: true };
    const [type, body] = node;
    if (depth > MAX_OUTPUT_DEPTH) return { columns: [{ name: undefined, origins: this.#all }], precise: false };
    switch (type) {
      case 'RangeVar': {
        const target = this.parts.rangeVars.get(body);
        const renamed = stringList(asNode(body.alias)?.colnames);
        if (target?.kind === 'cte') return rename(this.#cte(target.cte, depth + 1), renamed);
        const known = this.#relations.get(body);
        if (known === undefined) return { columns: [], precise: false }; // unknown columns, none masked
        const { name, relation } = known;
        const columns = relation.columns.map((column) => {
          const rule = relation.masked.get(column);
          const origins: Origins = rule === undefined ? EMPTY : new Map([[key(origin(name, column, rule)), origin(name, column, rule)]]);
          return { name: column, origins };
        });
        return rename({ columns, precise: true }, renamed);
      }
      case 'RangeSubselect':
        return rename(this.#statement(body.subquery, depth + 1), stringList(asNode(body.alias)?.colnames));
      case 'JoinExpr': {
        const joined = concat([this.#item(body.larg, depth + 1), this.#item(body.rarg, depth + 1)]);
        // USING and NATURAL merge columns: the order is no longer a plain concatenation.
        const merged = body.usingClause !== undefined || body.isNatural === true;
        return merged ? { columns: joined.columns, precise: false } : joined;
      }
      default: {
        const origins = new Map<string, Origin>();
        for (const mention of this.mentions({ ...body, alias: undefined }, undefined)) origins.set(key(mention.origin), mention.origin);
        return { columns: [{ name: undefined, origins }], precise: false };
      }
    }
  }

  #add(map: Map<string, Map<string, Origin>>, name: string, origins: Iterable<Origin>): void {
    let entry = map.get(name);
    for (const found of origins) {
      if (entry === undefined) {
        entry = new Map();
        map.set(name, entry);
      }
      const id = key(found);
      if (entry.has(id)) continue;
      entry.set(id, found);
      this.#changed = true;
    }
  }
}
