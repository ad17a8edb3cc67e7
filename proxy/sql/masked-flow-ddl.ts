import type { FunctionBody } from './masked-flow-collect.js';
import type { MaskedNames } from './masked-flow-names.js';
import { identifiers } from './masked-flow-text.js';
import type { FlowRoute, MaskedFlow, MaskedRelation, MaskedSchema } from './masked-flow-types.js';
import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';

// Masked-flow checks on statements that move or expose a whole relation rather than values in
// a query: COPY of a table, renames, INHERIT / ATTACH PARTITION, triggers, and function or DO
// bodies that cannot be parsed as SQL (scanned for identifiers instead).

const RELATION_OBJECTS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);

type Masked = { readonly name: string; readonly relation: MaskedRelation };

function each(masked: Masked, route: FlowRoute, detail: (column: string) => string, only?: (column: string) => boolean): MaskedFlow[] {
  const flows: MaskedFlow[] = [];
  for (const [column, rule] of masked.relation.masked) {
    if (only === undefined || only(column)) flows.push({ column: `${masked.name}.${column}`, rule, route, detail: detail(column) });
  }
  return flows;
}

function maskedOf(value: unknown, names: MaskedNames): Masked | undefined {
  const relation = asNode(value);
  return relation === undefined ? undefined : names.maskedRelation(relation);
}

/** `COPY users [(columns)] TO ...`: COPY output carries no sources; only the listed columns go out. */
export function copyFlows(body: PgNode, names: MaskedNames): MaskedFlow[] {
  const masked = maskedOf(body.relation, names);
  if (masked === undefined) return [];
  const listed = stringList(body.attlist);
  return each(masked, 'copy', (column) => `${column} in COPY ${masked.name} TO`, (column) => listed.length === 0 || listed.includes(column));
}

/** Rules name columns by schema, table and column: renaming or moving them slips the rule. */
export function renameFlows(type: string, body: PgNode, names: MaskedNames): MaskedFlow[] {
  const masked = maskedOf(body.relation, names);
  if (masked === undefined) return [];
  const kind = asString(type === 'RenameStmt' ? body.renameType : body.objectType) ?? '';
  if (kind === 'OBJECT_COLUMN') {
    const renamed = asString(body.subname);
    return each(masked, 'rename', (column) => `${masked.name}.${column} renamed`, (column) => column === renamed);
  }
  if (!RELATION_OBJECTS.has(kind)) return [];
  const what = type === 'RenameStmt' ? 'renamed' : `moved to schema ${asString(body.newschema) ?? '?'}`;
  return each(masked, 'rename', () => `${masked.name} ${what}`);
}

/** A masked table made a child (INHERIT, ATTACH PARTITION) shows its rows through the parent, under the parent's table OID. */
export function childFlows(body: PgNode, names: MaskedNames): MaskedFlow[] {
  const flows: MaskedFlow[] = [];
  for (const item of asList(body.cmds)) {
    const command = asNode(asNode(item)?.AlterTableCmd);
    const inherit = command?.subtype === 'AT_AddInherit';
    const child = inherit ? body.relation : command?.subtype === 'AT_AttachPartition' ? asNode(asNode(command.def)?.PartitionCmd)?.name : undefined;
    const masked = maskedOf(child, names);
    if (masked !== undefined) flows.push(...each(masked, 'server_side', () => `${masked.name} ${inherit ? 'made a child of another table' : 'attached as a partition'}`));
  }
  return flows;
}

/**
 * A trigger on a masked table hands each row (NEW, OLD, transition tables) to its function,
 * whose body need not name a column (`to_jsonb(NEW)`), so the textual scan cannot vouch for it.
 */
export function triggerFlows(body: PgNode, names: MaskedNames): MaskedFlow[] {
  const masked = maskedOf(body.relation, names);
  if (masked === undefined) return [];
  return each(masked, 'side_effect', () => `${masked.name} rows passed to trigger function ${stringList(body.funcname).join('.')}()`);
}

/**
 * A body read as text: each identifier a masking rule names, or that is a masked column of a
 * relation the statement otherwise names, counts as read. Over-approximates (a comment counts)
 * and misses what it cannot see (a row read whole, a name built from pieces).
 */
export function textFlows(fn: Extract<FunctionBody, { kind: 'text' }>, where: string, names: MaskedNames, schema: MaskedSchema): MaskedFlow[] {
  const flows: MaskedFlow[] = [];
  const base = names.baseNames();
  for (const word of identifiers(fn.text)) {
    const origins = [...(base.get(word)?.values() ?? [])];
    const column = origins.length === 1 ? origins[0]!.column : word;
    const detail = `${word} in ${where}`;
    const rule = schema.ruleIdentifiers.get(word);
    if (rule !== undefined) flows.push({ column, rule, route: 'function_body', detail });
    else for (const origin of origins) flows.push({ column, rule: origin.rule, route: 'function_body', detail });
  }
  return flows;
}
