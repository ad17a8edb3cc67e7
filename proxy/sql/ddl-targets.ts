import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';
import type { RelationNames } from './search-path.js';

// Some DDL names relations as plain identifier lists instead of RangeVars (DROP TABLE a, b;
// COMMENT ON TABLE t), or makes a relation appear under a new name (RENAME TO, SET SCHEMA).
// These are the relations such statements change, beyond the RangeVars the walk finds.

/** Object types that are relations (pg_class entries). */
const RELATION_TYPES = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE']);

/** Object types named `[schema.]table.object`: changing them changes the table. */
const ON_TABLE_TYPES = new Set(['OBJECT_COLUMN', 'OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE', 'OBJECT_TABCONSTRAINT']);

export function namedTargets(type: string, body: PgNode, names: RelationNames): string[] {
  switch (type) {
    case 'DropStmt':
      return asList(body.objects).flatMap((object) => objectTarget(asString(body.removeType), object, names));
    case 'CommentStmt':
    case 'SecLabelStmt':
      return objectTarget(asString(body.objtype), body.object, names);
    case 'RenameStmt': {
      // ALTER TABLE a RENAME TO b: b appears, in a's schema.
      const relation = asNode(body.relation);
      const newname = asString(body.newname);
      if (relation === undefined || newname === undefined || !RELATION_TYPES.has(asString(body.renameType) ?? '')) return [];
      const schema = names.schemaOf(asString(relation.schemaname), asString(relation.relname) ?? '', relation.relpersistence === 't');
      return [`${schema}.${newname}`];
    }
    case 'AlterObjectSchemaStmt': {
      // ALTER TABLE a SET SCHEMA s: s.a appears.
      const relation = asNode(body.relation);
      const relname = asString(relation?.relname);
      const newschema = asString(body.newschema);
      return relname !== undefined && newschema !== undefined ? [`${newschema}.${relname}`] : [];
    }
    default:
      return [];
  }
}

function objectTarget(objectType: string | undefined, object: unknown, names: RelationNames): string[] {
  if (objectType === undefined) return [];
  const parts = stringList(asNode(asNode(object)?.List)?.items);
  if (RELATION_TYPES.has(objectType)) {
    const name = names.qualifyParts(parts);
    return name === undefined ? [] : [name];
  }
  if (ON_TABLE_TYPES.has(objectType) && parts.length >= 2) {
    const name = names.qualifyParts(parts.slice(0, -1));
    return name === undefined ? [] : [name];
  }
  return [];
}
