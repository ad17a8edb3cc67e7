/**
 * libpg-query's parse tree is plain JSON: a node is `{TypeName: {field: ...}}` where a field is
 * typed as any node, and the bare `{field: ...}` object where it has one fixed type (e.g.
 * `InsertStmt.relation` is a bare RangeVar). The classifier reads it generically through
 * these helpers instead of trusting a static type for every node.
 */
export type PgNode = { readonly [key: string]: unknown };

export function asNode(value: unknown): PgNode | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as PgNode) : undefined;
}

export function asList(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The type name and body of a wrapped node: `{SelectStmt: {...}}` → ['SelectStmt', {...}]. */
export function unwrap(node: PgNode): [string, PgNode] | undefined {
  for (const key in node) {
    const body = asNode(node[key]);
    return body === undefined ? undefined : [key, body];
  }
  return undefined;
}

/** The `sval`s of a list of `{String: {sval}}` nodes (qualified names, DROP objects). */
export function stringList(value: unknown): string[] {
  const parts: string[] = [];
  for (const item of asList(value)) {
    const sval = asNode(asNode(item)?.String)?.sval;
    if (typeof sval === 'string') parts.push(sval);
  }
  return parts;
}
